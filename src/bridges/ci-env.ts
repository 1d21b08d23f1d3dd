// Which CI a run is in, from the environment alone (cheap to load: the run command asks at every run).

type Env = Readonly<Record<string, string | undefined>>;

/** The CI provider a run is in; `generic` when only `CI` is set. */
export type CiProvider = 'github' | 'gitlab' | 'jenkins' | 'generic';

/** True inside a GitHub Actions job (`GITHUB_ACTIONS=true`). */
export function isGitHubActions(env: Env = process.env): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

const isSet = (value: string | undefined) =>
  value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';

/**
 * Detects the CI provider from the environment: GitHub Actions (`GITHUB_ACTIONS`), GitLab
 * (`GITLAB_CI`), Jenkins (`JENKINS_URL`), any other CI (`CI` set and not `false`/`0`), or `null`.
 */
export function detectCi(env: Env = process.env): CiProvider | null {
  if (isGitHubActions(env)) return 'github';
  if (isSet(env.GITLAB_CI)) return 'gitlab';
  if (isSet(env.JENKINS_URL)) return 'jenkins';
  if (isSet(env.CI)) return 'generic';
  return null;
}
