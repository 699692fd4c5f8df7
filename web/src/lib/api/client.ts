/**
 * The only way the app calls the API: a typed client generated from the
 * server's OpenAPI document (schema.d.ts, never edited by hand), over a fetch
 * that signs requests and refreshes the access token without the person
 * noticing.
 */
import createClient from "openapi-fetch";
import { authorizedFetch } from "../session";
import type { components, paths } from "./schema";

export const api = createClient<paths>({ baseUrl: "", fetch: authorizedFetch });
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];

/** A problem's `type` slug ("not-found", "locked-out", ...), or "network". */
export function problemSlug(error: unknown): string {
  if (error && typeof error === "object" && "type" in error) {
    const type = String((error as { type: unknown }).type);
    return type.slice(type.lastIndexOf("/") + 1);
  }
  return "network";
}

/** Unwraps an openapi-fetch answer: the data, or throws the problem (or a network error). */
export async function call<T>(
  promise: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await promise;
  if (error !== undefined || !response.ok) throw new ApiError(response.status, error);
  return data as T;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(
      problem && typeof problem === "object" && "detail" in problem
        ? String((problem as { detail: unknown }).detail)
        : `HTTP ${status}`,
    );
  }
  get slug(): string {
    return problemSlug(this.problem);
  }
}
