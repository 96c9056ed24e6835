// Walks Clearance's sign-in and consent pages in headless Chromium, finding every element by
// its accessible name (PRODUCT.md "The browser UI"). Called by tests/browser.rs with:
//   node sign_in_and_consent.mjs <authorize-url> <redirect-uri-prefix> <username> <password>
//        [--patient NAME] [--press-enter-on LABEL] [--tick LABEL | --untick LABEL]...
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
  const enterAt = changes.indexOf('--press-enter-on');
  if (enterAt >= 0) {
    // Enter in a focused checkbox submits the form through its first submit button (HTML
    // implicit submission). It must never grant: record whether the browser left for the
    // client, and what the page says afterwards.
    const label = changes[enterAt + 1];
    changes.splice(enterAt, 2);
    let leaked = false;
    const watch = request => { if (request.url().startsWith(redirectPrefix)) leaked = true; };
    page.on('request', watch);
    await page.getByRole('checkbox', { name: label, exact: true }).focus();
    const navigated = page.waitForEvent('framenavigated');
    await page.keyboard.press('Enter');
    await navigated;
    await page.getByRole('alert').waitFor();
    result.enter = { leaked, alert: await page.getByRole('alert').innerText(), url: page.url() };
    page.off('request', watch);
  }
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
