// Walks Clearance's sign-in and consent pages in headless Chromium, finding every element by
// its accessible name (PRODUCT.md "The browser UI"). Called by tests/browser.rs with:
//   node sign_in_and_consent.mjs <authorize-url> <redirect-uri-prefix> <username> <password>
//        [--patient NAME] [--tick LABEL | --untick LABEL]...
// Prints one JSON line: {"redirect": "<the URL the browser was sent back to>", ...}.
import { chromium } from 'playwright-core';

const [authorizeUrl, redirectPrefix, username, password, ...changes] = process.argv.slice(2);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const result = {};
try {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
  await page.goto(authorizeUrl);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();

  const patientAt = changes.indexOf('--patient');
  if (patientAt >= 0) {
    // The practitioner's patient picker: one radio per patient, labelled with the name.
    await page.getByRole('button', { name: 'Continue' }).waitFor();
    result.picker = await page.getByRole('radio').count();
    await page.getByRole('radio', { name: changes[patientAt + 1], exact: true }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    changes.splice(patientAt, 2);
  }

  await page.getByRole('button', { name: 'Allow' }).waitFor();
  result.heading = await page.getByRole('heading', { level: 1 }).innerText();
  result.checkboxes = await page.getByRole('checkbox').count();
  result.checked = await page.getByRole('checkbox', { checked: true }).count();
  result.sensitive = await page.getByRole('group', { name: 'Sensitive parts of your record' }).getByRole('checkbox').count();
  for (let i = 0; i + 1 < changes.length; i += 2) {
    const box = page.getByRole('checkbox', { name: changes[i + 1], exact: true });
    if (changes[i] === '--tick') await box.check(); else await box.uncheck();
  }
  // The client's redirect URI is not a real server here: record where the browser is sent.
  const back = page.waitForRequest(request => request.url().startsWith(redirectPrefix));
  await page.getByRole('button', { name: 'Allow' }).click({ noWaitAfter: true });
  result.redirect = (await back).url();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
