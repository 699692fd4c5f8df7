import { t } from "./i18n";
import { Link } from "./router";
import { Page } from "./ui";

export function Welcome() {
  return (
    <Page title={t("app.name")}>
      <p class="lead">{t("welcome.lead")}</p>
      <nav class="choices" aria-label={t("welcome.choose")}>
        <Link class="choice" href="/parent">
          <span aria-hidden="true">📱</span>
          {t("welcome.parent")}
        </Link>
        <Link class="choice" href="/kiosk">
          <span aria-hidden="true">🏫</span>
          {t("welcome.kiosk")}
        </Link>
      </nav>
    </Page>
  );
}
