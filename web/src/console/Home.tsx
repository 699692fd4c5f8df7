/** Console sign-in and the start page: each role lands on its own work. */
import { useEffect } from "preact/hooks";
import { SignInForm } from "../lib/SignInForm";
import { ApiError } from "../lib/api/client";
import { t } from "../lib/i18n";
import { navigate } from "../lib/router";
import { useSession } from "../lib/session";
import { Spinner } from "../lib/ui";

export function homeFor(role: string): string {
  return (
    {
      psychologist: "/console/help",
      staff: "/console/school",
      moderator: "/console/moderation",
      admin: "/console/admin",
    }[role] ?? "/console/signin"
  );
}

export function ConsoleHome() {
  const user = useSession();
  useEffect(() => {
    navigate(user ? homeFor(user.role) : "/console/signin", true);
  }, [user?.id]);
  return <Spinner label={t("loading")} />;
}

export function ConsoleSignIn() {
  return (
    <SignInForm
      title={t("console.signin")}
      loginLabel={t("console.login")}
      explain={(e) => (e instanceof ApiError && e.status === 401 ? t("error.credentials") : t("error.network"))}
      onSignedIn={(tokens) => navigate(homeFor(tokens.user.role), true)}
    />
  );
}
