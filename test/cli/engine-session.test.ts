import { describe, expect, it } from 'vitest';
import { redactArgv } from '../../src/cli/engine-session.js';

describe('redactArgv', () => {
  it('hides Redis passwords in stored command lines, in both flag forms, and leaves the rest', () => {
    expect(redactArgv(['run', 'wf.yaml', '--redis', 'redis://user:pw@h:1/0', '--redis=rediss://:s3cret@h:2', '-j', '4'])).toEqual([
      'run',
      'wf.yaml',
      '--redis',
      'redis://user:***@h:1/0',
      '--redis=rediss://:***@h:2',
      '-j',
      '4',
    ]);
    expect(redactArgv(['--redis', 'redis://127.0.0.1:6379'])).toEqual(['--redis', 'redis://127.0.0.1:6379']);
  });
});
