#!/usr/bin/env python3
"""Compares the `parse --format json` output of two dsmrd builds on randomly mutated
telegrams from every recording: a change meant to leave the parser's output alone (a
speed-up) must give the same JSON, errors included, for broken input too.

Usage (from the repository root):
    fuzz/compare_builds.py OLD_DSMRD NEW_DSMRD [TELEGRAMS] [SEED] [IGNORED_KEY ...]
e.g. build the old revision in a worktree, then
    fuzz/compare_builds.py /tmp/old/target/release/dsmrd target/release/dsmrd 200000 1 unset_clock
Keys named after the seed are left out of the comparison (ones the new build adds on
purpose). Differing telegrams are written to /tmp/compare-builds/; exit status 1 if any.
"""
import glob, json, os, random, subprocess, sys

def telegrams():
    """Every plain-text telegram of every recording, as bytes."""
    out = []
    for path in sorted(glob.glob('recordings/*.txt')):
        data = open(path, 'rb').read()
        for part in data.split(b'/')[1:]:
            if b'!' in part and len(part) < 4000:
                out.append(b'/' + part[:part.rfind(b'!') + 1] + b'\r\n')
    return out

def mutate(rng, t):
    """One to four edits: a byte changed, removed or inserted, or a run made digits."""
    alphabet = b'0123456789.*()-:SWsw\r\n/!,ABCDEF kWhm3V'
    t = bytearray(t)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(1, len(t) - 3)
        op = rng.random()
        if op < 0.5:
            t[i] = rng.choice(alphabet)
        elif op < 0.7:
            del t[i]
        elif op < 0.85:
            t.insert(i, rng.choice(alphabet))
        else:
            j = min(len(t) - 3, i + rng.randint(1, 12))
            t[i:j] = bytes(rng.choice(b'0123456789') for _ in range(j - i))
    return bytes(t)

def parsed(dsmrd, path, ignored):
    """The JSON lines `dsmrd parse` prints for the file, without the ignored keys."""
    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items() if k not in ignored}
        if isinstance(o, list):
            return [strip(v) for v in o]
        return o
    r = subprocess.run([dsmrd, 'parse', path, '--no-crc', '--format', 'json', '--log-level', 'off'],
                       capture_output=True)
    return [strip(json.loads(line)) for line in r.stdout.splitlines() if line.strip()]

def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    old, new = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    ignored = set(sys.argv[5:])
    pool = telegrams()
    os.makedirs('/tmp/compare-builds', exist_ok=True)
    differing = 0
    for batch_no in range(max(1, count // 200)):
        path = '/tmp/compare-builds/batch.txt'
        with open(path, 'wb') as f:
            f.write(b''.join(mutate(rng, rng.choice(pool)) for _ in range(200)))
        a, b = parsed(old, path, ignored), parsed(new, path, ignored)
        if a != b:
            differing += 1
            os.replace(path, f'/tmp/compare-builds/differs-{batch_no}.txt')
            print(f'batch {batch_no}: outputs differ (kept in /tmp/compare-builds/differs-{batch_no}.txt)')
    print(f'{max(1, count // 200) * 200} mutated telegrams from {len(pool)}, {differing} batches differ')
    sys.exit(1 if differing else 0)

main()
