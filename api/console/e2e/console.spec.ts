/*
 * console.spec.ts — the screens as people use them, in Debian's chromium, against the
 * test stack that tests/console/test_console.c prepared (the fixture names the tenants,
 * the order, the accounts and the MQTT port). One working day, in order:
 *
 *   1. office sign-in: a planner by password; a manager by password and TOTP enrolment
 *      (the code computed here from the otpauth URI the screen shows); French, then English
 *   2. the floor: the manager enrols the phone (recovery code this time), the weaver signs
 *      in with badge and PIN, declares two pieces and sees the label with its QR code
 *   3. the phone's camera reads that label's QR code (a camera stream made from the label's
 *      own SVG; the scanner decodes real frames with jsQR)
 *   4. a declaration made offline is kept, shown as pending, then synced through the
 *      batch endpoint; the answer to the first send is lost on its way back, the phone
 *      sends again, and the order counts it once
 *   5. a loom's telemetry (MQTT): the machines board follows it live, the mechanic's phone
 *      shows the breakdown and the intervention request without a reload, the mechanic
 *      takes it; a planner of another tenant sees none of it
 *   6. the stores: the finished-goods storekeeper moves the declared roll into the store and
 *      sees it in stock; the cutter cuts it (1st and 2nd choice, a defect cause) and sees
 *      the two lots' label ids
 *      and prints the 1st-choice lot's label; the quality inspector inspects the roll, adds
 *      a photo, opens an NC from the inspection and follows it: photo, analysis, a
 *      corrective action, closing
 *   7. the office's accounts: the manager (a second recovery code) opens the trial balance
 *      and, when the day's pay is posted, an account's entries with their source event
 *   8. the office's commands: the manager sets a budget line, creates a project, adds a task
 *      and marks it done (closing a pay period is hidden: hr's and admin's); the accountant
 *      (TOTP enrolment) posts an entry by hand and finds it in the trial balance, and an
 *      invoice of a delivery that does not exist is refused with the server's reason; hr
 *      (TOTP enrolment) closes a pay period, and closing it again is refused
 *   9. the PWA: manifest, service worker, and the app opens without network
 *
 * Every page fails the test on a Content-Security-Policy violation or a script error.
 * Screenshots (phone 360 px, desktop 1280 px) go to e2e/screenshots/.
 */
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';

interface Fixture {
  tenant: string;
  other_tenant: string;
  order_id: string;
  loom: string;
  article: string;
  weaver: { badge: string; pin: string };
  mechanic: { badge: string; pin: string };
  cutter: { badge: string; pin: string };
  storekeeper_pf: { badge: string; pin: string };
  quality: { badge: string; pin: string };
  finished_store: string;
  planner: { username: string; password: string };
  manager: { username: string; password: string };
  accountant: { username: string; password: string };
  hr: { username: string; password: string };
  other_planner: { username: string; password: string };
  planner_token: string;
  mqtt_port: number;
  result: string;
}

const fx: Fixture = JSON.parse(readFileSync(process.env.FOFAL_E2E_FIXTURE ?? '', 'utf8'));
const SHOTS = 'e2e/screenshots';
mkdirSync(SHOTS, { recursive: true });

const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { viewport: { width: 1280, height: 800 } };

/* RFC 6238 with SHA-1, 30 s, 6 digits (what the server's otpauth URI says). */
function totp(secret: string, at = Date.now()): string {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let val = 0;
  const bytes: number[] = [];
  for (const c of secret.replace(/=+$/, '').toUpperCase()) {
    val = (val << 5) | alpha.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bytes.push((val >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const ctr = Buffer.alloc(8);
  ctr.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const h = createHmac('sha1', Buffer.from(bytes)).update(ctr).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/* A screenshot in CSS pixels (small files; the README shows two of them). */
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, scale: 'css' });

const problems: string[] = [];
function watch(page: Page, who: string) {
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`${who}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${who}: ${e.message}`));
}

async function newPage(browser: Browser, opts: object, who: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ ...opts, baseURL: process.env.FOFAL_E2E_BASE, serviceWorkers: 'block' });
  const page = await ctx.newPage();
  watch(page, who);
  return { ctx, page };
}

async function officeSignIn(page: Page, tenant: string, user: { username: string; password: string }) {
  await page.goto('/console/signin');
  await page.locator('input[name=tenant]').fill(tenant);
  await page.locator('input[name=username]').fill(user.username);
  await page.locator('input[name=password]').fill(user.password);
  await page.getByRole('button', { name: 'Se connecter' }).click();
}

async function pinSignIn(page: Page, who: { badge: string; pin: string }) {
  await expect(page).toHaveURL(/\/console\/floor\/signin$/);
  await page.locator('input[name=badge]').fill(who.badge);
  for (const d of who.pin) await page.locator('.keypad').getByRole('button', { name: d, exact: true }).click();
  await page.locator('.keypad').getByRole('button', { name: 'OK' }).click();
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${process.env.FOFAL_E2E_BASE}${path}`, { headers: { Authorization: `Bearer ${fx.planner_token}` } });
  expect(res.status, `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

function publish(samples: object[]) {
  execFileSync('mosquitto_pub', [
    '-h', '127.0.0.1', '-p', String(fx.mqtt_port), '-q', '1',
    // The broker refuses anonymous clients: the local stack's simulator account (stack.env).
    '-u', process.env.FOFAL_MQTT_SIM_USERNAME ?? '', '-P', process.env.FOFAL_MQTT_SIM_PASSWORD ?? '',
    '-t', `fofal/${fx.tenant}/looms/${fx.loom}/telemetry`, '-m', JSON.stringify(samples),
  ]);
}

test.describe.serial('the screens', () => {
  let phone: { ctx: BrowserContext; page: Page };
  let office: { ctx: BrowserContext; page: Page };
  let recovery = '';
  let recovery2 = '';
  let label = '';

  test.beforeAll(async ({ browser }) => {
    phone = await newPage(browser, PHONE, 'phone');
    office = await newPage(browser, DESKTOP, 'office');
  });
  test.afterEach(() => {
    expect(problems, 'no CSP violation, no script error').toEqual([]);
  });

  test('office sign-in: password, then password and TOTP enrolment', async () => {
    const page = office.page;
    await officeSignIn(page, fx.tenant, fx.planner);
    await expect(page).toHaveURL(/\/console\/office\/planner$/);
    const looms = page.getByTestId('planner-looms');
    await expect(looms).toContainText(fx.loom);
    await expect(looms).toContainText(fx.article);
    await expect(page.getByTestId('who')).toContainText('planner');
    await shot(page, 'planner-desktop');
    await page.getByRole('button', { name: 'English' }).click();
    await expect(page.getByRole('heading', { name: 'Planning board' })).toBeVisible();
    await page.getByRole('button', { name: 'Français' }).click();
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await expect(page).toHaveURL(/\/console\/signin$/);

    await officeSignIn(page, fx.tenant, fx.manager);
    const uri = (await page.getByTestId('otpauth').textContent()) ?? '';
    const secret = new URL(uri).searchParams.get('secret') ?? '';
    expect(secret).toMatch(/^[A-Z2-7]+=*$/);
    await expect(page.getByRole('img', { name: 'TOTP QR' })).toBeVisible();
    await page.locator('input[name=code]').fill(totp(secret));
    await page.getByRole('button', { name: 'Continuer' }).click();
    const codes = page.getByTestId('recovery').locator('code');
    await expect(codes.first()).toBeVisible();
    expect(await codes.count()).toBe(10);
    recovery = (await codes.nth(0).textContent()) ?? '';
    recovery2 = (await codes.nth(1).textContent()) ?? '';
    await page.getByRole('button', { name: 'Continuer' }).click();
    await expect(page).toHaveURL(/\/console\/office\/planner$/);
    await expect(page.getByTestId('who')).toContainText('manager');
    // An access token never reaches storage; the refresh token only this tab's sessionStorage.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    expect(stored).not.toMatch(/eyJ/);
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
  });

  test('floor: the phone is enrolled, the weaver signs in with badge and PIN, declares and sees the label', async () => {
    const page = phone.page;
    await officeSignIn(page, fx.tenant, fx.manager);
    await page.locator('input[name=code]').fill(recovery);
    await page.getByRole('button', { name: 'Continuer' }).click();
    await expect(page).toHaveURL(/\/console\/office\/planner$/);
    await page.goto('/console/device');
    await page.locator('input[name=device-name]').fill('Téléphone hall H1');
    await page.getByRole('button', { name: 'Enrôler' }).click();
    await pinSignIn(page, fx.weaver);
    await expect(page).toHaveURL(/\/console\/floor\/weaver$/);
    const card = page.getByTestId(`loom-${fx.loom}`);
    await expect(card).toContainText(fx.order_id.slice(0, 8));
    await card.getByRole('button', { name: 'Déclarer' }).click();
    await page.getByRole('button', { name: 'plus' }).click();
    await expect(page.locator('input[name=quantity]')).toHaveValue('2');
    await page.getByTestId('declare-send').click();
    const shown = page.getByTestId('label');
    await expect(shown).toContainText(fx.article);
    await expect(shown).toContainText(fx.weaver.badge);
    label = (await shown.getAttribute('data-label')) ?? '';
    expect(label).toMatch(/^[0-9a-f-]{36}$/);
    const qr = page.getByTestId('label-qr');
    await expect(qr).toBeVisible();
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await shot(page, 'weaver-label-phone');
    const scan = await api<{ label_id: string; quantity: number; weaver: { badge: string } }>(`/api/v1/inventory/labels/${label}`);
    expect(scan.quantity).toBe(2);
    expect(scan.weaver.badge).toBe(fx.weaver.badge);
  });

  test("the phone's camera reads the label's QR code", async () => {
    const page = phone.page;
    const res = await fetch(`${process.env.FOFAL_E2E_BASE}/api/v1/inventory/labels/${label}/qr.svg`, {
      headers: { Authorization: `Bearer ${fx.planner_token}` },
    });
    expect(res.status).toBe(200);
    const svg = await res.text();
    await page.keyboard.press('Escape');
    await page.evaluate(async (dataUrl: string) => {
      const img = new Image();
      img.src = dataUrl;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = 480;
      c.height = 480;
      const g = c.getContext('2d')!;
      const draw = () => {
        g.fillStyle = '#fff';
        g.fillRect(0, 0, 480, 480);
        g.drawImage(img, 60, 60, 360, 360);
      };
      draw();
      setInterval(draw, 100);
      const stream = c.captureStream(10);
      navigator.mediaDevices.getUserMedia = async () => stream;
    }, `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`);
    await page.getByTestId('scan').click();
    await expect(page.getByTestId('label')).toHaveAttribute('data-label', label);
    await page.keyboard.press('Escape');
    await shot(page, 'weaver-phone');
  });

  test('a declaration made offline is queued, then synced exactly once', async () => {
    const page = phone.page;
    const before = (await api<{ declared: number }>(`/api/v1/production/orders/${fx.order_id}`)).declared;
    let lost = 0;
    let passed = 0;
    await page.route('**/api/v1/commands', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      if (lost === 0) {
        try {
          await route.fetch(); // the server decides it …
          lost++;
        } finally {
          await route.abort('connectionreset'); // … and the phone never hears the answer
        }
        return;
      }
      passed++;
      await route.continue();
    });
    await phone.ctx.setOffline(true);
    await expect(page.getByTestId('network')).toHaveText('Hors ligne');
    await page.getByTestId(`loom-${fx.loom}`).getByRole('button', { name: 'Déclarer' }).click();
    await page.locator('input[name=quantity]').fill('3');
    await page.getByTestId('declare-send').click();
    await expect(page.getByTestId('message')).toContainText('Pas de réseau');
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('queue-pending')).toHaveCount(1);
    await shot(page, 'weaver-offline-phone');

    await phone.ctx.setOffline(false); // the 'online' event sends the batch; its answer is lost
    await expect.poll(() => lost, { timeout: 20_000 }).toBe(1);
    await expect(page.getByTestId('queue-pending')).toHaveCount(1);
    await page.getByRole('button', { name: 'Envoyer maintenant' }).click(); // the same key again
    await expect(page.getByTestId('queue-pending')).toHaveCount(0, { timeout: 30_000 });
    await expect(page.getByTestId('queue-refused')).toHaveCount(0);
    // This one and the online declaration before it, both sent.
    await expect(page.getByTestId('queue-done')).toHaveCount(2);
    expect(passed).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await api<{ declared: number }>(`/api/v1/production/orders/${fx.order_id}`)).declared).toBe(before + 3);
    await page.waitForTimeout(1500);
    expect((await api<{ declared: number }>(`/api/v1/production/orders/${fx.order_id}`)).declared).toBe(before + 3);
    const item = await page.evaluate(
      () =>
        new Promise<{ key: string; sub: string }>((resolve, reject) => {
          const open = indexedDB.open('fofal-console');
          open.onsuccess = () => {
            const all = open.result.transaction('outbox').objectStore('outbox').getAll();
            all.onsuccess = () => resolve(all.result.find((i: { data: { quantity: number } }) => i.data.quantity === 3));
            all.onerror = () => reject(all.error);
          };
        }),
    );
    writeFileSync(fx.result, JSON.stringify({ offline_key: item.key, weaver_sub: item.sub }));
    await page.unroute('**/api/v1/commands');
  });

  test('a breakdown reaches the mechanic without a reload; the machines board is live; another tenant sees nothing', async ({ browser }) => {
    const page = phone.page;
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await pinSignIn(page, fx.mechanic);
    await expect(page).toHaveURL(/\/console\/floor\/mechanic$/);
    await expect(page.getByTestId('live')).toHaveText('En direct');
    await expect(page.getByTestId(`breakdown-${fx.loom}`)).toHaveCount(0);

    const board = office.page;
    await officeSignIn(board, fx.tenant, fx.planner);
    await expect(board).toHaveURL(/\/console\/office\/planner$/);
    await board.getByRole('link', { name: 'Métiers' }).click();
    await expect(board.getByTestId('live')).toHaveText('En direct');

    const other = await newPage(browser, DESKTOP, 'other tenant');
    await officeSignIn(other.page, fx.other_tenant, fx.other_planner);
    await expect(other.page).toHaveURL(/\/console\/office\/planner$/);
    await expect(other.page.getByTestId('planner-looms')).toContainText('Aucun');
    await other.page.goto('/console/office/machines');
    await expect(other.page.getByTestId('live')).toHaveText('En direct');

    for (const p of [page, board, other.page]) await p.evaluate(() => ((window as unknown as { __same: number }).__same = 1));
    const t0 = Date.now() - 60_000;
    const sample = (i: number, running: boolean) => ({
      msg_id: `e2e-${i}`,
      ts: new Date(t0 + i * 1000).toISOString(),
      picks: 5000 + Math.min(i, 4) * 10,
      ppm: running ? 600 : 0,
      state: running ? 'running' : 'stopped',
      ...(running ? {} : { stop_cause: 'mechanical' }),
    });
    publish([0, 1, 2, 3].map((i) => sample(i, true)));
    await expect(board.getByTestId(`tile-${fx.loom}`)).toHaveAttribute('data-state', 'running');
    publish([4, 5, 6, 7].map((i) => sample(i, false)));
    await expect(board.getByTestId(`tile-${fx.loom}`)).toHaveAttribute('data-state', 'breakdown');
    await expect(board.getByTestId('count-breakdown')).toHaveText('1');

    await expect(page.getByTestId(`breakdown-${fx.loom}`)).toBeVisible();
    await expect(page.getByTestId('notices')).toContainText(`Panne sur ${fx.loom}`);
    const request = page.getByTestId(`request-${fx.loom}`);
    await expect(request).toContainText('Mécanique');
    await expect(request).toContainText('demandée');
    await shot(page, 'mechanic-phone');
    // The request is the maintenance module's: its push reaches the phone (module maintenance).
    await expect(page.getByTestId('notices')).toContainText(`Intervention demandée sur ${fx.loom}`);
    await request.getByRole('button', { name: 'Prendre' }).click();
    await expect(request).toContainText('acceptée');
    await expect(request).toContainText(fx.mechanic.badge);
    await expect(page.getByTestId('notices')).toContainText(`Intervention acceptée sur ${fx.loom}`);
    await board.waitForTimeout(1500); // a tally or two for the charts
    await shot(board, 'machines-desktop');

    for (const p of [page, board, other.page])
      expect(await p.evaluate(() => (window as unknown as { __same?: number }).__same), 'no reload').toBe(1);
    // The other tenant's board heard nothing of it.
    await expect(other.page.locator('[data-testid^=tile-]')).toHaveCount(0);
    await expect(other.page.getByTestId('count-breakdown')).toHaveText('0');
    await other.ctx.close();
  });

  test('the storekeeper moves the declared roll into the store and sees it; the cutter cuts it', async () => {
    const page = phone.page;
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await pinSignIn(page, fx.storekeeper_pf);
    await expect(page).toHaveURL(/\/console\/floor\/store-pf$/);
    await page.getByRole('tab', { name: 'Transfert' }).click();
    await page.locator('input[name=unit]').fill(label);
    await page.locator('select[name=unit-to]').selectOption(fx.finished_store);
    await page.getByTestId('unit-move-send').click();
    await expect(page.getByTestId('outcome')).toHaveText('Envoyé ✓');
    await page.getByRole('tab', { name: 'Stock' }).click();
    const stock = page.getByTestId('stock');
    await expect(async () => {
      await stock.getByRole('button', { name: 'Actualiser' }).click();
      await expect(stock.getByTestId('stock-holdings')).toContainText(label, { timeout: 1000 });
    }).toPass({ timeout: 20_000 });
    await expect(stock.getByTestId('stock-totals')).toContainText(fx.finished_store);
    await expect(stock.getByTestId('stock-totals')).toContainText(fx.article);
    await shot(page, 'store-pf-phone');

    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await pinSignIn(page, fx.cutter);
    await expect(page).toHaveURL(/\/console\/floor\/cutter$/);
    await page.locator('input[name=roll]').fill(label);
    await expect(page.getByTestId('roll-info')).toContainText(fx.article);
    await expect(page.locator('input[name=first]')).toHaveValue('2'); // the pieces declared
    await page.getByRole('button', { name: '1er choix −' }).click();
    await page.getByRole('button', { name: '2e choix +' }).click();
    await page.getByRole('button', { name: 'Trou +' }).click();
    await page.getByTestId('cut-send').click();
    await expect(page.getByTestId('outcome')).toHaveText('Envoyé ✓');
    await expect(page.getByTestId('lot-first')).toContainText(/[0-9a-f-]{36}/);
    await expect(page.getByTestId('lot-second')).toContainText(/[0-9a-f-]{36}/);
    await shot(page, 'cutter-phone');
    // The 1st-choice lot's label: inventory makes the lot by reaction to the cut.
    const firstLot = ((await page.getByTestId('lot-first').locator('code').textContent()) ?? '').trim();
    await page.getByTestId('label-first').click();
    const lotLabel = page.getByRole('dialog').getByTestId('label');
    await expect(lotLabel).toHaveAttribute('data-label', firstLot);
    await expect(lotLabel).toContainText(fx.article);
    await expect(lotLabel.getByTestId('label-qr')).toBeVisible();
    await expect(lotLabel.getByRole('button', { name: 'Fichier ZPL' })).toBeVisible();
    await shot(page, 'cutter-lot-label-phone');
    await page.keyboard.press('Escape');
    await expect
      .poll(async () => {
        const res = await fetch(`${process.env.FOFAL_E2E_BASE}/api/v1/quality/cuts/${label}`, { headers: { Authorization: `Bearer ${fx.planner_token}` } });
        return res.status === 200 ? ((await res.json()) as { first_choice: number; second_choice: number; cutter: string }) : null;
      })
      .toMatchObject({ first_choice: 1, second_choice: 1, cutter: fx.cutter.badge });
  });

  test('the inspector inspects the roll with a photo, opens an NC and follows it to its closing', async () => {
    const page = phone.page;
    const photo = await page.screenshot({ clip: { x: 0, y: 0, width: 48, height: 48 } }); // a real PNG
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await pinSignIn(page, fx.quality);
    await expect(page).toHaveURL(/\/console\/floor\/quality$/);
    await page.locator('input[name=lot]').fill(label);
    await page.locator('input[name=length-m]').fill('50');
    await page.locator('input[name=width-cm]').fill('60');
    await page.getByTestId('inspection-send').click();
    const score = page.getByTestId('score');
    await expect(score.getByTestId('grade')).toHaveText('1er choix');
    await score.locator('input[type=file]').setInputFiles({ name: 'controle.png', mimeType: 'image/png', buffer: photo });
    await expect(score.locator('img.thumb')).toHaveCount(1);

    await page.getByTestId('nc-open').click();
    await page.locator('input[name=nc-title]').fill('Trame cassée E2E');
    await page.getByRole('dialog').getByRole('button', { name: 'Envoyer', exact: true }).click();
    await expect(page.getByRole('dialog').getByTestId('outcome')).toHaveText('Envoyé ✓');
    await page.keyboard.press('Escape');
    const mine = page.getByTestId('my-ncs');
    await mine.getByRole('button', { name: 'Trame cassée E2E' }).click();
    const follow = mine.getByTestId('nc-follow');
    const photo2 = await page.screenshot({ clip: { x: 0, y: 0, width: 64, height: 40 } });
    await follow.locator('input[type=file]').setInputFiles({ name: 'nc.png', mimeType: 'image/png', buffer: photo2 });
    await expect(follow.locator('img.thumb')).toHaveCount(1);
    await follow.locator('input[name=nc-cause]').fill('Casse-trame mal réglé');
    await follow.locator('select[name=nc-category]').selectOption('machine');
    await follow.getByTestId('nc-analyse-send').click();
    await expect(follow).toHaveAttribute('data-status', 'analysed');
    await expect(follow.getByTestId('nc-close-send')).toHaveCount(0); // no corrective action yet
    await follow.locator('input[name=nc-action]').fill('Régler le casse-trame');
    await follow.locator('input[name=nc-owner]').fill(fx.mechanic.badge);
    await follow.getByTestId('nc-act-send').click();
    await expect(follow.getByTestId('nc-actions')).toContainText('Régler le casse-trame');
    await shot(page, 'quality-nc-phone');
    await follow.locator('input[name=nc-verification]').fill('50 m contrôlés sans défaut');
    await follow.getByTestId('nc-close-send').click();
    await expect(mine).toContainText('Aucun');
    const closed = await api<{ items: { title: string; status: string }[] }>('/api/v1/quality/ncs?status=closed');
    expect(closed.items.map((n) => n.title)).toContain('Trame cassée E2E');
  });

  test("the manager opens the trial balance and an account's entries", async () => {
    const page = office.page;
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await officeSignIn(page, fx.tenant, fx.manager);
    await page.locator('input[name=code]').fill(recovery2);
    await page.getByRole('button', { name: 'Continuer' }).click();
    await expect(page).toHaveURL(/\/console\/office\/planner$/);
    await page.getByRole('link', { name: 'Comptabilité' }).click();
    const trial = page.getByTestId('trial-balance');
    await expect(trial.locator('tfoot')).toContainText('Total');
    await expect(page.getByTestId('treasury')).toBeVisible();
    // The declarations and the cut are paid by reaction, then posted: open an account when there is one.
    const accounts = trial.locator('tbody button');
    if (await accounts.count()) {
      await accounts.first().click();
      await expect(page.getByTestId('account-entries')).toContainText('Solde');
    }
    await shot(page, 'accounting-desktop');
  });

  test('the manager sets a budget line, creates a project, adds a task and marks it done; closing pay is not theirs', async () => {
    const page = office.page;
    await page.getByRole('link', { name: 'Paie', exact: true }).click();
    await expect(page.getByTestId('payslip')).toBeVisible();
    await expect(page.getByTestId('pay-close')).toHaveCount(0); // hr.pay_period.close: hr and admin only

    await page.getByRole('link', { name: 'Contrôle de gestion' }).click();
    const year = String(new Date().getFullYear());
    const budget = page.getByTestId('budget-set');
    await budget.locator('input[name=budget-centre]').fill('TISSAGE');
    await budget.locator('input[name=budget-account]').fill('641');
    await budget.locator('input[name=budget-month]').fill(`${year}-03`);
    await budget.locator('input[name=budget-amount]').fill('1500');
    await budget.getByTestId('budget-set-send').click();
    await expect(budget.getByTestId('outcome')).toHaveText('Envoyé ✓');
    await expect(page.getByTestId('budget').locator('tbody')).toContainText('TISSAGE');
    await expect(page.getByTestId('budget').locator('tbody')).toContainText(`${year}-03`);
    await shot(page, 'control-desktop');

    await page.getByRole('link', { name: 'Projets', exact: true }).click();
    const create = page.getByTestId('project-create');
    await create.locator('input[name=project-code]').fill('E2E-P');
    await create.locator('input[name=project-name]').fill('Installation L1');
    await create.locator('input[name=project-owner]').fill(fx.weaver.badge);
    await create.locator('input[name=project-due]').fill('2030-06-30');
    await create.locator('input[name=project-budget]').fill('1000');
    await create.getByTestId('project-create-send').click();
    await expect(create.getByTestId('outcome')).toHaveText('Envoyé ✓');
    await expect(page.getByTestId('project-list')).toContainText('E2E-P');
    const tasks = page.getByTestId('project-tasks');
    await expect(tasks).toContainText('Installation L1');
    await tasks.locator('input[name=task-code]').fill('T1');
    await tasks.locator('input[name=task-title]').fill('Régler L1');
    await tasks.locator('input[name=task-owner]').fill(fx.mechanic.badge);
    await tasks.locator('input[name=task-due]').fill('2030-01-31');
    await tasks.getByTestId('task-add-send').click();
    await expect(tasks.getByTestId('task-E2E-P-T1')).toContainText('à faire');
    await tasks.getByTestId('task-actions-T1').getByRole('button', { name: 'Fait' }).click();
    await expect(tasks.getByTestId('task-E2E-P-T1')).toContainText('faite');
    await shot(page, 'projects-desktop');
  });

  test('the accountant posts an entry by hand and sees it in the trial balance; an invoice of no delivery is refused', async () => {
    const page = office.page;
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await officeSignIn(page, fx.tenant, fx.accountant);
    const uri = (await page.getByTestId('otpauth').textContent()) ?? '';
    await page.locator('input[name=code]').fill(totp(new URL(uri).searchParams.get('secret') ?? ''));
    await page.getByRole('button', { name: 'Continuer' }).click();
    await expect(page.getByTestId('recovery').locator('code').first()).toBeVisible();
    await page.getByRole('button', { name: 'Continuer' }).click();
    await expect(page).toHaveURL(/\/console\/office\/accounting$/);
    const entry = page.getByTestId('entry-post');
    await entry.locator('input[name=entry-memo]').fill('Fournitures payées par banque');
    await entry.locator('input[name=entry-account-0]').fill('6061');
    await entry.locator('input[name=entry-debit-0]').fill('125,5');
    await entry.locator('input[name=entry-account-1]').fill('532');
    await entry.locator('input[name=entry-credit-1]').fill('125,5');
    await entry.getByTestId('entry-post-send').click();
    await expect(entry.getByTestId('outcome')).toHaveText('Envoyé ✓');
    const trial = page.getByTestId('trial-balance');
    await expect(trial.getByRole('button', { name: 'Écritures du compte 6061' })).toBeVisible();
    await trial.getByRole('button', { name: 'Écritures du compte 6061' }).click();
    await expect(page.getByTestId('account-entries')).toContainText('Fournitures payées par banque');
    await shot(page, 'accounting-entry-desktop');

    const invoice = page.getByTestId('invoice-issue');
    await invoice.locator('input[name=invoice-delivery]').fill('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b');
    await invoice.getByTestId('invoice-issue-send').click();
    await expect(invoice.getByRole('alert')).toContainText('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'); // the server's reason
  });

  test("hr closes a pay period; closing it again is refused with the server's reason", async () => {
    const page = office.page;
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await officeSignIn(page, fx.tenant, fx.hr);
    const uri = (await page.getByTestId('otpauth').textContent()) ?? '';
    await page.locator('input[name=code]').fill(totp(new URL(uri).searchParams.get('secret') ?? ''));
    await page.getByRole('button', { name: 'Continuer' }).click();
    await expect(page.getByTestId('recovery').locator('code').first()).toBeVisible();
    await page.getByRole('button', { name: 'Continuer' }).click();
    await expect(page).toHaveURL(/\/console\/office\/payslip$/);
    const close = page.getByTestId('pay-close');
    await close.locator('input[name=close-period]').fill('2025-01'); // long past: today's pay is untouched
    await close.getByTestId('pay-close-send').click();
    await expect(close.getByTestId('outcome')).toHaveText('Envoyé ✓');
    await close.getByTestId('pay-close-send').click();
    await expect(close.getByRole('alert')).toContainText('already_closed');
  });

  test('installable: manifest, service worker, opens without network', async ({ browser }) => {
    const ctx = await browser.newContext({ ...PHONE, baseURL: process.env.FOFAL_E2E_BASE });
    const page = await ctx.newPage();
    watch(page, 'pwa');
    await page.goto('/console/');
    const manifest = await page.evaluate(async () => {
      const href = document.querySelector('link[rel=manifest]')!.getAttribute('href')!;
      return (await fetch(href)).json();
    });
    expect(manifest.start_url).toBe('/console/');
    expect(manifest.display).toBe('standalone');
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    await ctx.setOffline(true);
    await page.reload();
    await expect(page.locator('input[name=badge], input[name=username]').first()).toBeVisible();
    await ctx.close();
  });

  test.afterAll(async () => {
    await phone?.ctx.close();
    await office?.ctx.close();
  });
});
