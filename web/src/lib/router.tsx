/**
 * A small history router: patterns like "/parent/child/:childId", links that
 * navigate without a reload, and lazy screens so a phone downloads only the
 * face of the app it opens (the kiosk never fetches the parent's recorder).
 */
import type { ComponentChildren, ComponentType, JSX } from "preact";
import { useEffect, useState } from "preact/hooks";

export type Params = Record<string, string>;
export type Screen = ComponentType<{ params: Params }>;
export interface Route {
  path: string;
  load: () => Promise<Screen>;
}

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}

export function match(pattern: string, path: string): Params | null {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = decodeURIComponent(got[i]!);
    if (w.startsWith(":")) params[w.slice(1)] = g;
    else if (w !== g) return null;
  }
  return params;
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return path;
}

export function Router(props: { routes: Route[]; fallback: Screen; loading: ComponentChildren }) {
  const path = usePath();
  let found: { route: Route; params: Params } | null = null;
  for (const route of props.routes) {
    const params = match(route.path, path);
    if (params) {
      found = { route, params };
      break;
    }
  }
  // Loaders run on every navigation (the browser caches the modules), so a loader
  // may pick its screen by state, e.g. sign-in before a signed-in-only screen.
  const [shown, setShown] = useState<{ path: string; screen: Screen } | null>(null);
  useEffect(() => {
    if (!found) return;
    let current = true;
    found.route.load().then((screen) => {
      if (current) setShown({ path, screen });
    });
    return () => {
      current = false;
    };
  }, [path]);
  if (!found) {
    const Fallback = props.fallback;
    return <Fallback params={{}} />;
  }
  if (!shown || shown.path !== path) return <>{props.loading}</>;
  const ScreenComponent = shown.screen;
  return <ScreenComponent key={path} params={found.params} />;
}

export function Link(props: JSX.HTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { href, onClick, ...rest } = props;
  return (
    <a
      href={href}
      {...rest}
      onClick={(event) => {
        if (onClick) (onClick as (e: MouseEvent) => void)(event);
        if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey) return;
        event.preventDefault();
        navigate(href);
      }}
    />
  );
}
