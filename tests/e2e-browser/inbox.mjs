// Drives the approvals inbox in Debian's chromium (headless) with Playwright, as a person would.
//
//   node inbox.mjs answer  BASE ID approve|deny NOTE SHOTS   sign in, wait for the held call, answer it on the page
//   node inbox.mjs expire  BASE ID SHOTS                     watch the held call turn expired without reloading
//   node inbox.mjs twice   BASE ID SHOTS                     approve in one tab, then again in a stale second tab
//
// Prints one JSON line with what the page showed. CHROMIUM (default /usr/bin/chromium) names the browser.
import { chromium } from 'playwright-core';
import path from 'node:path';

const [command, base, id, ...rest] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const timeout = 20000;

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 820 } });
  await (await context.newPage()).goto(`${base}/login?user=bob&role=approver`).then(r => { if (!r.ok()) throw new Error('sign-in failed: ' + r.status()); });

  const open = async (state = '.pending') => {
    const page = await context.newPage();
    await page.goto(`${base}/approvals`);
    await page.locator(`article${state}[data-id="${id}"]`).waitFor({ timeout });
    return page;
  };
  const card = (page) => page.locator(`article[data-id="${id}"]`);
  const statusOf = async (page) => (await card(page).getAttribute('class')) || '';

  let result;
  if (command === 'answer') {
    const [verb, note, shots] = rest;
    const page = await open();
    await page.screenshot({ path: path.join(shots, 'inbox-pending.png') });
    await card(page).locator('textarea').fill(note);
    await card(page).locator(`button.${verb}`).click();
    await page.locator(`article[data-id="${id}"]:not(.pending)`).waitFor({ timeout });
    await page.screenshot({ path: path.join(shots, `inbox-${verb === 'approve' ? 'approved' : 'denied'}.png`) });
    result = { status: await statusOf(page), text: await card(page).innerText() };
  } else if (command === 'expire') {
    const [shots] = rest;
    // The page may open before or after the time-out; either way it turns expired without a reload.
    const page = await open('');
    const seenPending = (await statusOf(page)) === 'pending';
    await page.locator(`article.expired[data-id="${id}"]`).waitFor({ timeout });
    await page.screenshot({ path: path.join(shots, 'inbox-expired.png') });
    result = { status: await statusOf(page), seenPending, text: await card(page).innerText() };
  } else if (command === 'twice') {
    const [shots] = rest;
    const first = await open();
    const stale = await open();
    await card(first).locator('button.approve').click();
    await first.locator(`article[data-id="${id}"]:not(.pending)`).waitFor({ timeout });
    // The second tab still shows the call as pending (it has not refreshed): a second approval from it must be refused.
    await card(stale).locator('button.approve').click();
    const message = stale.locator('#notice');
    await message.waitFor({ state: 'visible', timeout });
    await stale.screenshot({ path: path.join(shots, 'inbox-second-approval.png') });
    result = { status: await statusOf(first), message: await message.innerText() };
  } else {
    throw new Error('unknown command: ' + command);
  }

  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
