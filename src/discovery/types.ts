import type { ScriptKind } from '../core/spec.js';

export type { ScriptKind };

export interface DiscoveredScript {
  /** Absolute path. */
  path: string;
  /** Relative to the discovered folder, POSIX separators: also the script's id. */
  relativePath: string;
  /** File name. */
  name: string;
  /** Folder relative to the discovered folder (`.` for the top level). */
  group: string;
  kind: ScriptKind;
  /** The interpreter line without `#!`, when the file has one. */
  shebang?: string;
}

export interface DiscoveryWarning {
  path: string;
  message: string;
}

export interface DiscoveryResult {
  scripts: DiscoveredScript[];
  warnings: DiscoveryWarning[];
}

export interface DiscoverOptions {
  /** Folder levels below the root to search; 0 means the root's own files only. @default 2 */
  maxDepth?: number;
  /** Only these subfolders (names or relative paths) of the root; top-level files are left out. */
  subdirs?: string[];
  /**
   * Keep only scripts matching one of these. A pattern with glob characters is a glob on the
   * relative path (or on the file name when it has no `/`); a plain word matches as a substring.
   */
  include?: string[];
  /** Leave out scripts matching one of these (same matching as `include`). */
  exclude?: string[];
  /** Folder names never entered. @default DEFAULT_SKIP_DIRS */
  skipDirs?: readonly string[];
  /** File names (or globs on file names) never returned. @default DEFAULT_SKIP_FILES */
  skipFiles?: readonly string[];
  /**
   * The folder symlinks may lead into: a link whose real path is outside it is not followed (a
   * warning says so). It must be the discovered folder or one of its parents. Links into the
   * discovered folder's own real tree are always fine.
   * @default the discovered folder
   */
  projectRoot?: string;
}
