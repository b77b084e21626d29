// The console in a real browser: Debian's chromium driven by playwright-core.
// Run by console/browser_test.go, which serves the page and the API and
// checks the report this script prints as its last line (JSON). Steps that
// fail throw; the script then exits 1 with the error.
//
// Environment: CONSOLE_URL (the page), CHROMIUM (the browser binary),
// USER_DATA_DIR (a fresh profile), SCREENSHOT (where to save the picture).
import { chromium } from 'playwright-core';

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const url = env('CONSOLE_URL');
const report = { console: [] };
const step = (name) => console.error(`e2e: ${name}`);

const context = await chromium.launchPersistentContext(env('USER_DATA_DIR'), {
  executablePath: env('CHROMIUM'),
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  timeout: 30_000,
});
context.setDefaultTimeout(15_000);
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => report.console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => report.console.push(`pageerror: ${e.message}`));
  const rows = page.locator('[data-testid=flow-row]');
  const rowTexts = async () => (await rows.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());

  step('open the page; the denied flow appears');
  await page.goto(url);
  await page.locator('[data-testid=flow-row][data-action=deny]').first().waitFor();
  report.initialRows = await rowTexts();
  report.graph = { nodes: await page.locator('[data-testid=graph-node]').count(), allow: await page.locator('[data-testid=edge-allow]').count(), deny: await page.locator('[data-testid=edge-deny]').count() };

  step('the stream brings a new flow');
  await page.locator('[data-testid=flow-row]', { hasText: 'intruder' }).waitFor();
  report.streamed = true;

  step('filter to denied flows');
  await page.selectOption('#f-action', 'deny');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => {
    const r = [...document.querySelectorAll('[data-testid=flow-row]')];
    return r.length > 0 && r.every((x) => x.getAttribute('data-action') === 'deny');
  });
  await page.locator('[data-testid=flow-row]', { hasText: 'intruder' }).waitFor();
  report.filteredRows = await rowTexts();
  report.filteredURL = page.url();

  step('a bad selector is refused in the page, a wrong one by the API');
  await page.fill('#f-selector', "biz_type == 'fruit");
  await page.click('button[type=submit]');
  report.clientError = (await page.locator('[data-testid=errors]').innerText()).trim();
  await page.fill('#f-selector', 'biz_type ==');
  await page.click('button[type=submit]');
  await page.locator('[data-testid=errors]', { hasText: 'selector:' }).waitFor();
  report.serverError = (await page.locator('[data-testid=errors]').innerText()).trim();

  step('clicking an endpoint in the graph filters the table to it');
  await page.click('text=Clear');
  await page.locator('[data-testid=graph-node]', { hasText: 'bookstore-client' }).click();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('endpoint') === 'bookstore-client');
  await page.waitForFunction(() => {
    const r = [...document.querySelectorAll('[data-testid=flow-row]')];
    return r.length > 0 && r.every((x) => x.textContent.includes('bookstore-client'));
  });
  report.endpointRows = await rowTexts();

  step('clear the filters, click the denied fruitstore flow, see its policy');
  await page.click('text=Clear');
  // The stand-in streams one flow after a moment; wait for it, so no row
  // moves under the click.
  await page.locator('[data-testid=flow-row]', { hasText: 'intruder' }).waitFor();
  await page.locator('[data-testid=flow-row][data-action=deny]', { hasText: 'fruitstore' }).first().click();
  const yaml = page.locator('[data-testid=policy-yaml]');
  await page.waitForFunction(() => /kind:/.test(document.querySelector('[data-testid=policy-yaml]')?.textContent ?? ''));
  report.decision = (await page.locator('[data-testid=decision]').innerText()).trim();
  report.policyYAML = await yaml.innerText();

  step("a staged policy's verdict, and its YAML");
  report.staged = (await page.locator('.staged-list li').allInnerTexts()).map((t) => t.trim());
  await page.locator('.staged-list button').first().click();
  await page.waitForFunction(() => /kind: StagedNetworkPolicy/.test(document.querySelector('[data-testid=policy-yaml]')?.textContent ?? ''));
  report.stagedYAML = await yaml.innerText();
  await page.locator('[data-testid=flow-row].selected').click();
  await page.waitForFunction(() => /kind: NetworkPolicy/.test(document.querySelector('[data-testid=policy-yaml]')?.textContent ?? ''));
  await page.screenshot({ path: env('SCREENSHOT'), fullPage: true });
  report.ok = true;
} finally {
  await context.close();
}
console.log(JSON.stringify(report));
