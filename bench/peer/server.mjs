// panva's oidc-provider set up as close to Clearance as it goes, for bench/peer.sh:
// RS256-signed RFC 9068 JWT access tokens for the FHIR base, client_credentials with a
// client secret, PKCE required, the same `security` claim shape.
// (After shared/reference/peers.md §16.) One process per core through node:cluster, all
// with the same signing key, as client-credentials JWTs are never stored.
import cluster from 'node:cluster';
import * as crypto from 'node:crypto';
import { Provider } from 'oidc-provider';

const port = Number(process.env.PEER_PORT || 13000);
const processes = Number(process.env.PEER_PROCESSES || 2);

if (cluster.isPrimary) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'rs256-1', use: 'sig', alg: 'RS256' };
  for (let i = 0; i < processes; i++) cluster.fork({ PEER_JWK: JSON.stringify(jwk) });
} else {
  const issuer = `http://127.0.0.1:${port}`;
  const FHIR = `${issuer}/fhir`;
  const provider = new Provider(issuer, {
    jwks: { keys: [JSON.parse(process.env.PEER_JWK)] },
    clients: [
      { client_id: 'bench', client_secret: 'bench-secret', grant_types: ['client_credentials'],
        response_types: [], redirect_uris: [] },
    ],
    scopes: ['openid', 'offline_access', 'fhirUser', 'launch/patient'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => FHIR,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource) => {
          if (resource !== FHIR) throw new Error('unknown resource');
          return { scope: 'system/Patient.rs system/Observation.rs', audience: FHIR,
                   accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    ttl: { ClientCredentials: 300 },
    pkce: { required: () => true },
    async extraTokenClaims() {
      return { security: { confidentiality: 'N', sensitivity: [], purpose_of_use: 'HOPERAT' } };
    },
  });
  provider.listen(port);
}
