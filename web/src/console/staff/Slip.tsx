/**
 * The invitation slip, in Chinese whatever the console's language: the code,
 * a QR code of the join link, and three lines of instructions. Printed with
 * the browser (the print stylesheet hides everything else).
 */
import { useEffect } from "preact/hooks";
import { t, tIn } from "../../lib/i18n";
import { Link } from "../../lib/router";
import { QrCode } from "../qr";

export const SLIP_KEY = "vb.slip";

const zh = (key: Parameters<typeof t>[0], params?: Record<string, string>) => tIn("zh-CN", key, params);

export interface SlipData {
  code: string;
  child: string;
  school: string;
  expires: string;
}

export function Slip() {
  const raw = sessionStorage.getItem(SLIP_KEY);
  const slip = raw ? (JSON.parse(raw) as SlipData) : null;
  useEffect(() => {
    document.title = tIn("zh-CN", "slip.title");
  }, []);
  if (!slip) {
    return (
      <main class="page">
        <p>{t("console.slip.none")}</p>
        <Link href="/console/school">{t("back")}</Link>
      </main>
    );
  }
  const link = `${location.origin}/parent/join?code=${encodeURIComponent(slip.code)}`;
  const expires = new Date(slip.expires).toLocaleDateString("zh-CN", { year: "numeric", month: "long", day: "numeric" });
  return (
    <main class="page">
      <div class="no-print row spread slip-actions">
        <Link href="/console/school">‹ {t("back")}</Link>
        <button type="button" data-testid="print" onClick={() => window.print()}>{t("console.slip.print")}</button>
      </div>
      <article class="slip" lang="zh-CN" data-testid="slip">
        <h1>{zh("slip.title")}</h1>
        <p>{zh("slip.for", { school: slip.school, child: slip.child })}</p>
        <p class="slip-code" data-testid="slip-code">{slip.code}</p>
        <QrCode text={link} label={zh("slip.qr")} size={200} />
        <ol>
          <li>{zh("slip.step1", { host: location.host })}</li>
          <li>{zh("slip.step2")}</li>
          <li>{zh("slip.step3", { expires })}</li>
        </ol>
      </article>
    </main>
  );
}
