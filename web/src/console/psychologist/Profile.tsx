/** A volunteer's profile: apply (or re-apply) with credentials, or keep languages and capacity up to date. */
import { useEffect, useState } from "preact/hooks";
import { type Schemas, ApiError, api, call } from "../../lib/api/client";
import { t } from "../../lib/i18n";
import { ErrorNote } from "../../lib/ui";
import { Shell } from "../Shell";

type Profile = Schemas["ProfilePublic"];
type Category = Schemas["Category"];

export function Profile() {
  const [profile, setProfile] = useState<Profile | null>(null);
  const [categories, setCategories] = useState<Category[]>([]);
  const [credentials, setCredentials] = useState("");
  const [languages, setLanguages] = useState("cmn");
  const [specialties, setSpecialties] = useState<Category[]>([]);
  const [capacity, setCapacity] = useState(3);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    void api.GET("/api/v1/help/options").then((r) => setCategories(r.data?.categories ?? []));
    void api.GET("/api/v1/psychologists/me").then((r) => {
      if (!r.data) return;
      setProfile(r.data);
      setCredentials(r.data.credentials);
      setLanguages(r.data.languages.join(","));
      setSpecialties(r.data.specialties as Category[]);
      setCapacity(r.data.capacity);
    });
  }, []);

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    setSaved(false);
    const langs = languages.split(",").map((s) => s.trim()).filter(Boolean);
    try {
      const result = profile
        ? await call(api.PATCH("/api/v1/psychologists/me", { body: { languages: langs, specialties, capacity } }))
        : await call(
            api.PUT("/api/v1/psychologists/me/application", {
              body: { credentials, languages: langs, specialties, capacity, timezone: "Asia/Shanghai" },
            }),
          );
      setProfile(result);
      setSaved(true);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  }
  return (
    <Shell title={t("console.profile.title")} roles={["psychologist"]}>
      {profile ? (
        <p class="muted">{t(`console.verification.${profile.verification}` as "console.verification.pending")}</p>
      ) : null}
      <form onSubmit={submit}>
        <label for="credentials">{t("console.profile.credentials")}</label>
        <textarea id="credentials" rows={3} required minLength={10} disabled={!!profile} value={credentials} onInput={(e) => setCredentials(e.currentTarget.value)} />
        <label for="languages">{t("console.profile.languages")}</label>
        <input id="languages" required value={languages} onInput={(e) => setLanguages(e.currentTarget.value)} />
        <fieldset>
          <legend>{t("console.profile.specialties")}</legend>
          {categories.map((c) => (
            <label key={c} class="check" for={`spec-${c}`}>
              <input
                id={`spec-${c}`}
                type="checkbox"
                checked={specialties.includes(c)}
                onChange={(e) => setSpecialties(e.currentTarget.checked ? [...specialties, c] : specialties.filter((s) => s !== c))}
              />
              {t(`help.category.${c}` as "help.category.other")}
            </label>
          ))}
        </fieldset>
        <label for="capacity">{t("console.profile.capacity")}</label>
        <input id="capacity" type="number" min={1} max={20} value={capacity} onInput={(e) => setCapacity(Number(e.currentTarget.value))} />
        <ErrorNote error={error} />
        {saved ? <p class="ok" role="status">{t("console.saved")}</p> : null}
        <p>
          <button type="submit">{profile ? t("console.profile.save") : t("console.profile.apply")}</button>
        </p>
      </form>
    </Shell>
  );
}
