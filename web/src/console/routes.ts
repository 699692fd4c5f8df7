/**
 * Issue 11 adds the console here: psychologists, school staff, moderators and
 * admins. Add routes under /console/...; shared pieces come from ../lib.
 */
import type { Route } from "../lib/router";

export const routes: Route[] = [];
