import { describe, expect, it } from 'vitest';
import { InvalidReferenceError, familiarReference, formatReference, normalizeReference, parseReference } from './reference.js';

const HEX = 'a'.repeat(64);

describe('parseReference', () => {
  const ok: [string, string, string][] = [
    // input, full form, familiar form
    ['web', 'docker.io/library/web:latest', 'web:latest'],
    ['web:v2', 'docker.io/library/web:v2', 'web:v2'],
    ['team/web', 'docker.io/team/web:latest', 'team/web:latest'],
    ['docker.io/web:1', 'docker.io/library/web:1', 'web:1'],
    ['index.docker.io/library/web', 'docker.io/library/web:latest', 'web:latest'],
    ['localhost:5000/team/web:1', 'localhost:5000/team/web:1', 'localhost:5000/team/web:1'],
    ['localhost/web', 'localhost/web:latest', 'localhost/web:latest'],
    ['ghcr.io/a/b/c:1.0-rc_1', 'ghcr.io/a/b/c:1.0-rc_1', 'ghcr.io/a/b/c:1.0-rc_1'],
    ['Registry/web', 'Registry/web:latest', 'Registry/web:latest'],
    ['[::1]:5000/web', '[::1]:5000/web:latest', '[::1]:5000/web:latest'],
    ['my-app__x.y', 'docker.io/library/my-app__x.y:latest', 'my-app__x.y:latest'],
    [`web@sha256:${HEX}`, `docker.io/library/web@sha256:${HEX}`, `web@sha256:${HEX}`],
    [`web:v2@sha256:${HEX}`, `docker.io/library/web:v2@sha256:${HEX}`, `web:v2@sha256:${HEX}`],
  ];
  for (const [input, full, fam] of ok) {
    it(`normalises ${input}`, () => {
      const r = parseReference(input);
      expect(formatReference(r)).toBe(full);
      expect(familiarReference(r)).toBe(fam);
      expect(normalizeReference(fam)).toBe(full);
    });
  }

  it('gives no default tag to a digest reference', () => {
    expect(parseReference(`web@sha256:${HEX}`)).toEqual({ domain: 'docker.io', path: 'library/web', digest: `sha256:${HEX}` });
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['Web', /must be lowercase/],
    ['web:', /tag "" is invalid/],
    ['web:-x', /tag "-x" is invalid/],
    [`web:${'t'.repeat(129)}`, /tag/],
    ['web/', /empty path component/],
    ['a//b', /empty path component/],
    ['we$b', /path component "we\$b" is invalid/],
    ['-web', /path component "-web"/],
    ['web@sha256:abc', /not a valid digest/],
    [HEX, /image ID, not a name/],
    [':tag', /repository name is missing/],
    ['bad_host.io:x/web', /./],
    [`${'a'.repeat(250)}/${'b'.repeat(10)}`, /longer than 255/],
  ];
  for (const [input, pattern] of bad) {
    it(`rejects ${JSON.stringify(input.slice(0, 40))}, naming the input`, () => {
      let err: unknown;
      try {
        parseReference(input);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidReferenceError);
      expect((err as InvalidReferenceError).input).toBe(input);
      expect((err as Error).message).toContain(JSON.stringify(input));
      expect((err as Error).message).toMatch(pattern);
    });
  }

  it('refuses non-sha256 digests as unsupported', () => {
    expect(() => parseReference(`web@sha512:${'a'.repeat(128)}`)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });
});
