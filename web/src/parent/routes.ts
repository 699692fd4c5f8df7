import type { Route } from "../lib/router";

const screens = () => import("./screens");

export const routes: Route[] = [
  { path: "/parent", load: () => screens().then((m) => m.Home) },
  { path: "/parent/signin", load: () => screens().then((m) => m.SignIn) },
  { path: "/parent/register", load: () => screens().then((m) => m.Register) },
  { path: "/parent/join", load: () => screens().then((m) => m.Join) },
  { path: "/parent/child/:childId", load: () => import("./Thread").then((m) => m.Thread) },
];
