import t from 'tap';
import { chooseProfile } from '../../src/profile/select.js';

const cases: Array<[string, string, string[], Record<string, string> | undefined, { ok: boolean; name?: string; via?: boolean; reason?: RegExp }]> = [
  ['no annotations', 'baseline', ['restricted', 'strict'], undefined, { ok: true, name: 'baseline', via: false }],
  ['empty annotation', 'baseline', ['restricted'], { 'io.bulwark.profile': '' }, { ok: true, name: 'baseline', via: false }],
  ['same as default', 'restricted', ['strict'], { 'io.bulwark.profile': 'restricted' }, { ok: true, name: 'restricted', via: false }],
  ['stricter opt-in', 'baseline', ['restricted', 'strict'], { 'io.bulwark.profile': 'strict' }, { ok: true, name: 'strict', via: true }],
  ['looser refused', 'restricted', ['strict'], { 'io.bulwark.profile': 'baseline' }, { ok: false, reason: /io\.bulwark\.profile=baseline is not a profile that restricted may switch to \(allowed: strict\)/ }],
  ['unknown refused', 'baseline', ['restricted'], { 'io.bulwark.profile': 'yolo' }, { ok: false, reason: /yolo/ }],
  ['nothing allowed', 'strict', [], { 'io.bulwark.profile': 'restricted' }, { ok: false, reason: /no opt-in allowed/ }],
];

t.test('profile opt-in by annotation', async (t) => {
  for (const [name, def, optIn, annotations, want] of cases) {
    const got = chooseProfile(def, optIn, annotations);
    t.equal(got.ok, want.ok, name);
    if (got.ok) {
      t.equal(got.name, want.name, `${name}: name`);
      t.equal(got.viaAnnotation, want.via, `${name}: via annotation`);
    } else {
      t.match(got.reason, want.reason!, `${name}: reason`);
    }
  }
});
