export { EXIT_CODES, exitCodeFor } from './exit-code.js';
export {
  detectCi,
  escapeCommandData,
  escapeCommandProperty,
  githubAnnotations,
  groupLines,
  isGitHubActions,
  writeStepSummary,
} from './github-actions.js';
export type { CiProvider, GitHubAnnotationOptions } from './github-actions.js';
