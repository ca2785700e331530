/**
 * The code cites the design by section (`design §N` or `design §N.M`, docs/design.md): every citation
 * in the sources must name a heading there, and nothing may point at a design document outside the
 * repository. Reads the .ts sources (not dist/), found from the repository root.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';

/** dist/test/unit -> the repository root. */
const ROOT = path.resolve(__dirname, '../../..');
const DESIGN = path.join(ROOT, 'docs/design.md');

/** Where citations live: the sources and their docs; src/gen is generated from proto/. */
const SCANNED_DIRS = ['src', 'test', 'proto'];
const SCANNED_FILES = ['README.md'];
const SCANNED_EXTENSIONS = new Set(['.ts', '.md', '.proto']);
const SKIPPED_DIRS = new Set([path.join(ROOT, 'src/gen'), path.join(ROOT, 'node_modules'), path.join(ROOT, 'dist')]);

/** `design §4.3`, `design §2, §4, §8`, `design §3 and §13`, `docs/design.md §2`. */
const CITATION = /design(?:\.md)? (§\d+(?:\.\d+)*(?:(?:, | and | to |-)§\d+(?:\.\d+)*)*)/g;
const SECTION = /§(\d+(?:\.\d+)*)/g;

/** Pointers outside the repository (spelled in pieces, so that this file does not match itself). */
const OUTSIDE = [
  new RegExp(['DESIGN', 'NOTES'].join('-')),
  new RegExp(['design', 'notes'].join(' '), 'i'),
  /\.\.\/shared\b/,
  /\/work\/shared\b/,
];

function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    if (SKIPPED_DIRS.has(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && SCANNED_EXTENSIONS.has(path.extname(entry.name))) files.push(full);
    }
  };
  for (const dir of SCANNED_DIRS) if (fs.existsSync(path.join(ROOT, dir))) walk(path.join(ROOT, dir));
  for (const file of SCANNED_FILES) if (fs.existsSync(path.join(ROOT, file))) files.push(path.join(ROOT, file));
  return files;
}

interface Citation {
  readonly where: string;
  readonly section: string;
  readonly text: string;
}

function citations(files: readonly string[]): Citation[] {
  const found: Citation[] = [];
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const match of line.matchAll(CITATION)) {
        for (const section of (match[1] ?? '').matchAll(SECTION)) {
          found.push({ where: `${path.relative(ROOT, file)}:${i + 1}`, section: section[1] ?? '', text: match[0] });
        }
      }
    });
  }
  return found;
}

/** Section numbers of docs/design.md's headings: `## 4. Leases ...` -> 4, `### 4.3 Peer ...` -> 4.3. */
function headings(markdown: string): string[] {
  const numbers: string[] = [];
  for (const line of markdown.split('\n')) {
    const match = /^#{2,6}\s+(\d+(?:\.\d+)*)\.?\s/.exec(line);
    if (match?.[1] !== undefined) numbers.push(match[1]);
  }
  return numbers;
}

describe('design citations (docs/design.md)', () => {
  const design = fs.readFileSync(DESIGN, 'utf8');
  const sections = headings(design);
  const files = sourceFiles();

  it('docs/design.md has numbered sections, each number once, subsections under their section', () => {
    expect(sections.length).to.be.greaterThan(10);
    expect(new Set(sections).size, 'a section number used twice').to.equal(sections.length);
    for (const number of sections.filter((n) => n.includes('.'))) {
      const parent = number.slice(0, number.lastIndexOf('.'));
      expect(sections, `§${number} has no §${parent} above it`).to.include(parent);
    }
  });

  it('docs/design.md states the citation form the code uses', () => {
    expect(design).to.include('Code cites sections of this document as `design §N`');
  });

  it('finds the sources and their citations (not a vacuous pass)', () => {
    expect(files.some((f) => f.endsWith(path.join('src', 'core', 'lease.ts')))).to.equal(true);
    expect(citations(files).length).to.be.greaterThan(20);
  });

  it('every design §N(.M) cited in src/, test/, proto/ and README.md is a heading of docs/design.md', () => {
    const known = new Set(sections);
    const unresolved = citations(files)
      .filter((c) => !known.has(c.section))
      .map((c) => `${c.where}: "${c.text}" (§${c.section} is not a heading of docs/design.md)`);
    expect(unresolved).to.deep.equal([]);
  });

  it('no source file points at a design document outside the repository', () => {
    const outside: string[] = [];
    for (const file of files) {
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (OUTSIDE.some((pattern) => pattern.test(line)))
            outside.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(outside).to.deep.equal([]);
  });
});
