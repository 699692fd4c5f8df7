/**
 * The app's faces, one folder each: the parent's phone (parent/), the child's
 * kiosk on a school tablet (child/), and the console for psychologists, school
 * staff, moderators and admins (console/, issue 11). Each face is loaded on
 * demand, so a parent's phone never downloads the kiosk.
 */
import { t, useLang } from "./lib/i18n";
import { type Route, Router } from "./lib/router";
import { NotFound, Spinner } from "./lib/ui";
import { Welcome } from "./lib/Welcome";
import { routes as childRoutes } from "./child/routes";
import { routes as consoleRoutes } from "./console/routes";
import { routes as parentRoutes } from "./parent/routes";

const routes: Route[] = [
  { path: "/", load: async () => Welcome },
  ...parentRoutes,
  ...childRoutes,
  ...consoleRoutes,
];

export function App() {
  useLang();
  return <Router routes={routes} fallback={NotFound} loading={<Spinner label={t("loading")} />} />;
}
