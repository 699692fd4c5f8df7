/**
 * The console: psychologists and supervisors, school staff, moderators and
 * admins. Each area is its own lazily loaded chunk.
 */
import type { Route } from "../lib/router";

export const routes: Route[] = [
  { path: "/console", load: () => import("./Home").then((m) => m.ConsoleHome) },
  { path: "/console/signin", load: () => import("./Home").then((m) => m.ConsoleSignIn) },
  { path: "/console/help", load: () => import("./psychologist/Queue").then((m) => m.Queue) },
  { path: "/console/profile", load: () => import("./psychologist/Profile").then((m) => m.Profile) },
  { path: "/console/case/:requestId", load: () => import("./psychologist/Case").then((m) => m.Case) },
  { path: "/console/supervisor", load: () => import("./supervisor/Supervisor").then((m) => m.Supervisor) },
  { path: "/console/school", load: () => import("./staff/School").then((m) => m.School) },
  { path: "/console/school/:schoolId", load: () => import("./staff/School").then((m) => m.School) },
  { path: "/console/slip", load: () => import("./staff/Slip").then((m) => m.Slip) },
  { path: "/console/moderation", load: () => import("./moderator/Moderation").then((m) => m.Moderation) },
  { path: "/console/admin", load: () => import("./admin/Impact").then((m) => m.Impact) },
  { path: "/console/admin/schools", load: () => import("./admin/Schools").then((m) => m.Schools) },
  { path: "/console/admin/people", load: () => import("./admin/People").then((m) => m.People) },
  { path: "/console/admin/jobs", load: () => import("./admin/Jobs").then((m) => m.Jobs) },
];
