/** Small shared pieces: the page frame, the language switch, the not-found screen. */
import type { ComponentChildren } from "preact";
import { type Lang, lang, setLang, t } from "./i18n";
import { Link } from "./router";

export function LangSwitch() {
  const other: Lang = lang() === "zh-CN" ? "en" : "zh-CN";
  return (
    <button type="button" class="link" lang={other} onClick={() => setLang(other)}>
      {other === "en" ? "English" : "中文"}
    </button>
  );
}

export function Page(props: {
  title: string;
  back?: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
  wide?: boolean;
}) {
  return (
    <div class={props.wide ? "page wide" : "page"}>
      <header class="bar">
        {props.back ? (
          <Link class="back" href={props.back} aria-label={t("back")}>
            ‹
          </Link>
        ) : null}
        <h1>{props.title}</h1>
        <div class="bar-actions">
          {props.actions}
          <LangSwitch />
        </div>
      </header>
      <main>{props.children}</main>
    </div>
  );
}

export function Spinner(props: { label: string }) {
  return (
    <div class="spinner" role="status" aria-live="polite">
      {props.label}
    </div>
  );
}

export function ErrorNote(props: { error: string | null }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert">
      {props.error}
    </p>
  );
}

export function NotFound() {
  return (
    <Page title={t("notFound.title")}>
      <div class="notfound" data-testid="not-found">
        <p class="big-emoji" aria-hidden="true">
          🧭
        </p>
        <p>{t("notFound.body")}</p>
        <Link class="button" href="/">
          {t("notFound.home")}
        </Link>
      </div>
    </Page>
  );
}
