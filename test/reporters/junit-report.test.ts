import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  escapeXmlAttribute,
  escapeXmlText,
  renderJUnit,
  writeJUnitReport,
} from '../../src/reporters/junit-report.js';
import { makeStep, makeSummary, mixedSummary } from './summary-factory.js';

const run = promisify(execFile);

interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  text: string;
  children: XmlNode[];
}

// Parses with Python's expat-based parser (a real, strict XML 1.0 parser) and prints the tree.
const PARSE = `
import json, sys, xml.dom.minidom, xml.etree.ElementTree as ET
xml.dom.minidom.parse(sys.argv[1])
def node(e):
    return {"tag": e.tag, "attrs": dict(e.attrib), "text": e.text or "", "children": [node(c) for c in e]}
print(json.dumps(node(ET.parse(sys.argv[1]).getroot())))
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'junit-report-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function parseXml(xml: string, name = 'junit.xml'): Promise<XmlNode> {
  const file = path.join(dir, name);
  await writeFile(file, xml, 'utf8');
  const { stdout } = await run('python3', ['-c', PARSE, file]);
  return JSON.parse(stdout) as XmlNode;
}

let mixed: Promise<XmlNode> | undefined;
/** The parsed report of the shared mixed summary, parsed once. */
const parsedMixed = () => (mixed ??= parseXml(renderJUnit(mixedSummary()), 'mixed.xml'));

const child = (node: XmlNode | undefined, tag: string) => node?.children.find((c) => c.tag === tag);

describe('renderJUnit', () => {
  it('is well-formed XML with one testsuite per folder and one testcase per step', async () => {
    const xml = renderJUnit(mixedSummary());
    expect(xml.match(/<testcase /g)).toHaveLength(6);
    expect(xml.match(/<testsuite /g)).toHaveLength(2);
    const root = await parsedMixed();
    expect(root.tag).toBe('testsuites');
    expect(root.children.map((suite) => [suite.tag, suite.attrs.name, suite.children.length])).toEqual([
      ['testsuite', 'etl', 3],
      ['testsuite', 'reports', 3],
    ]);
  });

  it('puts the counts on testsuites and each testsuite', async () => {
    const root = await parsedMixed();
    expect(root.attrs).toMatchObject({
      name: 'nightly', tests: '6', failures: '2', errors: '0', skipped: '2', time: '3.400',
      timestamp: '2024-05-01T10:00:00',
    });
    const [etl, reports] = root.children;
    expect(etl?.attrs).toMatchObject({ tests: '3', failures: '2', errors: '0', skipped: '0', time: '3.280' });
    expect(reports?.attrs).toMatchObject({ tests: '3', failures: '0', errors: '0', skipped: '2', time: '1.000' });
  });

  it('describes each step as a testcase with name, classname, time and file', async () => {
    const root = await parsedMixed();
    const cases = root.children.flatMap((suite) => suite.children);
    expect(cases.map((c) => c.attrs)).toEqual([
      { name: 'etl/load.py', classname: 'etl', time: '1.230', file: 'etl/load.py' },
      { name: 'etl/bad.sh', classname: 'etl', time: '0.050', file: 'etl/bad.sh' },
      { name: 'etl/slow.py', classname: 'etl', time: '2.000', file: 'etl/slow.py' },
      { name: 'reports/x.sh', classname: 'reports', time: '0.300', file: 'reports/x.sh' },
      { name: 'reports/old.sh', classname: 'reports', time: '0.000', file: 'reports/old.sh' },
      { name: 'reports/a|b.sh', classname: 'reports', time: '0.700', file: 'reports/a|b.sh' },
    ]);
  });

  it('reports a failed step as <failure> with the stderr tail, and keeps nasty text intact', async () => {
    const root = await parsedMixed();
    const bad = root.children[0]?.children[1];
    const failure = child(bad, 'failure');
    expect(failure?.attrs).toEqual({ message: 'exited with code 3', type: 'exit-non-zero' });
    expect(failure?.text).toContain('exit: code 3');
    expect(failure?.text).toContain('log: /runs/r1/logs/etl__bad.sh.log');
    expect(failure?.text).toContain(`<tag attr="x"> & 'q' ]]> bell escred lone ok\u{1F600}`);
    expect(failure?.text).not.toContain('\u0007');
    expect(child(bad, 'system-err')?.text).toContain('err 1\n');
    expect(child(bad, 'system-err')?.text).toContain('fence ``` and ```` inside | pipe');
  });

  it('reports a timed-out step as <failure type="timed-out">', async () => {
    const root = await parsedMixed();
    const slow = root.children[0]?.children[2];
    expect(child(slow, 'failure')?.attrs).toEqual({
      message: 'timed out after 2.00s (SIGKILL after SIGTERM was ignored)',
      type: 'timed-out',
    });
    expect(child(slow, 'system-out')?.text).toBe('working\n');
    expect(child(slow, 'error')).toBeUndefined();
  });

  it('reports skipped and cancelled steps as <skipped> with the reason', async () => {
    const root = await parsedMixed();
    const [cancelled, skipped, ok] = root.children[1]?.children ?? [];
    expect(cancelled?.children.map((c) => [c.tag, c.attrs])).toEqual([
      ['skipped', { message: 'cancelled: the run was interrupted' }],
    ]);
    expect(skipped?.children.map((c) => [c.tag, c.attrs])).toEqual([
      ['skipped', { message: 'skipped by config: replaced by new.sh' }],
    ]);
    expect(ok?.children).toEqual([]);
  });

  it('reports a failure with continue_on_error as <skipped> saying it failed, so CI does not count it as a failure', async () => {
    const summary = makeSummary(
      [
        makeStep({ id: 'optional.sh', status: 'failed', reason: 'exit-non-zero', message: 'exited with code 5', exitCode: 5, continuedOnError: true, stderrTail: 'flaky mirror\n' }),
        makeStep({ id: 'next.sh' }),
      ],
      { status: 'succeeded' },
    );
    const root = await parseXml(renderJUnit(summary), 'continued.xml');
    expect(root.attrs).toMatchObject({ tests: '2', failures: '0', skipped: '1' });
    expect(root.children[0]?.attrs).toMatchObject({ tests: '2', failures: '0', skipped: '1' });
    const optional = root.children[0]?.children[0];
    expect(child(optional, 'failure')).toBeUndefined();
    expect(child(optional, 'skipped')?.attrs).toEqual({ message: 'failed (continue_on_error): exited with code 5' });
    expect(child(optional, 'system-err')?.text).toBe('flaky mirror\n');
  });

  it('survives every character XML 1.0 forbids, in text and in attributes', async () => {
    let nasty = '';
    for (let code = 0; code < 0x20; code++) nasty += String.fromCharCode(code);
    nasty += ' ]]> </testcase> <!-- --> &amp; \uD800 \uDFFF \uFFFE \uFFFF \u{1F600} "\'';
    const summary = makeSummary([
      makeStep({
        id: `weird${nasty}.sh`,
        status: 'failed',
        reason: 'exit-non-zero',
        message: `boom ${nasty}`,
        exitCode: 1,
        stdoutTail: nasty,
        stderrTail: nasty,
      }),
    ], { name: `run ${nasty}` });
    const root = await parseXml(renderJUnit(summary), 'nasty.xml');
    const testcase = root.children[0]?.children[0];
    const keep = '\t\n\r ]]> </testcase> <!-- --> &amp;     \u{1F600} "\'';
    expect(testcase?.attrs.name).toBe(`weird${keep}.sh`);
    expect(child(testcase, 'failure')?.attrs.message).toBe(`boom ${keep}`);
    expect(child(testcase, 'system-out')?.text).toBe(keep);
    expect(root.attrs.name).toBe(`run ${keep}`);
  });

  it('writes an empty run as a valid document', async () => {
    const root = await parseXml(renderJUnit(makeSummary([])), 'empty.xml');
    expect(root.attrs.tests).toBe('0');
    expect(root.children).toEqual([]);
  });
});

describe('XML escaping', () => {
  it('escapes markup in text so ]]> cannot appear', () => {
    expect(escapeXmlText('a < b && c > d ]]>')).toBe('a &lt; b &amp;&amp; c &gt; d ]]&gt;');
    expect(escapeXmlText('x\r\ny')).toBe('x&#13;\ny');
  });

  it('escapes quotes and whitespace in attributes', () => {
    expect(escapeXmlAttribute(`"'\t\n`)).toBe('&quot;&apos;&#9;&#10;');
  });
});

describe('writeJUnitReport', () => {
  it('writes junit.xml', async () => {
    const out = path.join(dir, 'out');
    const file = await writeJUnitReport(mixedSummary(), out);
    expect(file).toBe(path.join(out, 'junit.xml'));
    expect(await readFile(file, 'utf8')).toBe(renderJUnit(mixedSummary()));
  });
});
