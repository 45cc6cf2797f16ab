// Which profile applies to a container: the handler's (or config's) default, or a stricter one
// the container opts into with the io.bulwark.profile annotation. "Stricter" is what the default
// profile lists in `optIn`; anything else, including an unknown name, is refused.

export const PROFILE_ANNOTATION = 'io.bulwark.profile';

export type ProfileChoice = { ok: true; name: string; viaAnnotation: boolean } | { ok: false; reason: string };

export function chooseProfile(
  defaultName: string,
  defaultOptIn: readonly string[],
  annotations: Record<string, string> | undefined,
): ProfileChoice {
  const requested = annotations?.[PROFILE_ANNOTATION];
  if (requested === undefined || requested === '' || requested === defaultName) {
    return { ok: true, name: defaultName, viaAnnotation: false };
  }
  if (!defaultOptIn.includes(requested)) {
    const allowed = defaultOptIn.length ? `allowed: ${defaultOptIn.join(', ')}` : 'no opt-in allowed';
    return { ok: false, reason: `annotation ${PROFILE_ANNOTATION}=${requested} is not a profile that ${defaultName} may switch to (${allowed})` };
  }
  return { ok: true, name: requested, viaAnnotation: true };
}
