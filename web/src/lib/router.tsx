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

const loaded = new Map<string, Screen>();

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
  const [, force] = useState(0);
  useEffect(() => {
    if (found && !loaded.has(found.route.path)) {
      const route = found.route;
      route.load().then((screen) => {
        loaded.set(route.path, screen);
        force((n) => n + 1);
      });
    }
  }, [found?.route.path]);
  if (!found) {
    const Fallback = props.fallback;
    return <Fallback params={{}} />;
  }
  const ScreenComponent = loaded.get(found.route.path);
  if (!ScreenComponent) return <>{props.loading}</>;
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
