// Opens <base>/graphiql in the system Chromium with every request off this host refused, then checks
// that the IDE loaded, that its docs explorer shows QueryRoot and that a query typed into the editor
// returns data. Prints one JSON line: { ok, blocked, response } (response: the result pane's text).
// Usage: node graphiql.mjs http://127.0.0.1:PORT
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.argv[2];
if (!base) {
  console.error('usage: node graphiql.mjs <server base URL>');
  process.exit(2);
}
const QUERY = '{ skillCategories { id label } }';
const profile = mkdtempSync(join(tmpdir(), 'graphiql-chromium-'));
const blocked = [];
const pageErrors = [];
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  // Offline but for the server under test.
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === '127.0.0.1' || host === 'localhost') return route.continue();
    blocked.push(route.request().url());
    return route.abort('internetdisconnected');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => pageErrors.push(String(error)));

  await page.goto(`${base}/graphiql`, { waitUntil: 'load' });
  await page.locator('.graphiql-container').waitFor();

  await page.getByRole('button', { name: /documentation explorer/i }).click();
  await page.locator('.graphiql-doc-explorer').getByText('QueryRoot', { exact: true }).first().waitFor();

  const editor = page.locator('.graphiql-query-editor .CodeMirror');
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // Typed key by key (a closing bracket the editor inserted itself is typed over).
  await page.keyboard.type(QUERY);
  const typed = await editor.evaluate((node) => node.CodeMirror.getValue());
  const bare = (text) => text.replace(/\s+/g, '');
  if (bare(typed) !== bare(QUERY)) throw new Error(`the editor holds ${JSON.stringify(typed)}`);
  await page.getByRole('button', { name: /execute query/i }).click();

  const result = page.locator('.graphiql-response .CodeMirror');
  await page.waitForFunction(
    () => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue().includes('"skillCategories"'),
  );
  const response = await result.evaluate((node) => node.CodeMirror.getValue());
  if (pageErrors.length) throw new Error(`errors in the page: ${pageErrors.join('; ')}`);
  console.log(JSON.stringify({ ok: true, blocked, response }));
} catch (error) {
  const screenshot = process.env.GRAPHIQL_SCREENSHOT;
  if (screenshot) await context?.pages()[0]?.screenshot({ path: screenshot }).catch(() => {});
  console.log(JSON.stringify({ ok: false, blocked, pageErrors, error: String(error) }));
  process.exitCode = 1;
} finally {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
}
