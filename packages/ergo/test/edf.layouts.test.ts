// Structs whose Go definition grew: a registration lists the older field lists it also accepts
// (`olderLayouts`), and decoding tries the current list first, then each older one. The case
// that needs it: Ergo 3.2.0 added `Tags` and `Map` to gen.ApplicationInfo, right after `Weight`;
// Go nodes before 3.2.0 (3.1, and ergo-peer) send it without them, e.g. in the inspector's
// application list the Observer shows. Both layouts are pinned here as golden bytes written
// from the Go field lists and WIRE.md §1's body rules, not from our encoder:
//   before 3.2.0 (ERGO-API.md "info" row, EXTRAS.md "application list"):
//     ApplicationInfo{Name Atom; Weight int; Description string; Version Version;
//                     Env map[Env]any; Depends ApplicationDepends; Mode ApplicationMode;
//                     State ApplicationState; Parent Atom; Uptime int64; Group []PID}
//   3.2.0: the same with `Tags []Atom; Map map[string]Atom` after Weight.
//   inspect.MessageInspectApplicationList{Node Atom; Applications map[Atom]gen.ApplicationInfo}

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { Atom } from '../src/gen/atom.js';
import { MessageInspectApplicationList, type InspectApplicationInfo } from '../src/gen/inspect.js';
import { PID } from '../src/gen/pid.js';
import {
  EdfDecoder,
  EdfEncoder,
  EdfError,
  FrameworkTypeName,
  Go,
  createRegistry,
  defaultRegistry,
} from '../src/net/index.js';
import { fromWireApplicationInfo } from '../src/net/proto/application_info.js';
import { hex, unhex } from './edf.fixtures.js';

const text = (s: string): string => Buffer.from(s, 'utf8').toString('hex');
const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const u32 = (n: number): string => n.toString(16).padStart(8, '0');
const u64 = (n: number): string => n.toString(16).padStart(16, '0');
/** atom / string body: u16 length + bytes. */
const str = (s: string): string => u16(Buffer.byteLength(s)) + text(s);
const reg = (name: string): string => '83' + str(name);

const NODE = 'go1@localhost';
const CREATION = 0x6553f100;

interface App {
  name: string;
  description: string;
  state: number;
  group: number[];
  /** 3.2.0 only. */
  tags?: string[];
  map?: [string, string][];
}

/** One gen.ApplicationInfo body; `v320` adds Tags and Map after Weight. */
function appHex(a: App, v320: boolean): string {
  let h = str(a.name) + u64(0); // Name Atom, Weight int
  if (v320) {
    h += a.tags ? '9d' + u32(a.tags.length) + a.tags.map(str).join('') : 'ff'; // Tags []Atom
    h += a.map ? '9f' + u32(a.map.length) + a.map.map(([k, v]) => str(k) + str(v)).join('') : 'ff'; // Map
  }
  h += str(a.description); // Description string
  h += str(a.name) + str('1.0') + str('') + str(''); // Version{Name, Release, Commit, License}
  h += 'ff'; // Env map[Env]any: nil (not exposed)
  h += 'ff' + '00'; // Depends{Applications []Atom: nil, Network bool}
  h += u64(1); // Mode ApplicationMode (int): temporary
  h += u32(a.state); // State ApplicationState (int32)
  h += str(''); // Parent Atom
  h += u64(5); // Uptime int64
  h +=
    a.group.length === 0
      ? 'ff'
      : '9d' + u32(a.group.length) + a.group.map((id) => str(NODE) + u64(id) + u64(CREATION)).join('');
  return h;
}

/** A whole MessageInspectApplicationList value as Go sends it. */
function listHex(apps: App[], v320: boolean): string {
  return (
    reg('#ergo.services/ergo/app/system/inspect/MessageInspectApplicationList') +
    str(NODE) +
    '9f' +
    u32(apps.length) +
    apps.map((a) => str(a.name) + appHex(a, v320)).join('')
  );
}

const PEER_APP: App = { name: 'peer_app', description: 'ergo-peer test application', state: 2, group: [1010] };
const LOADED: App = { name: 'other', description: '', state: 1, group: [] };

function decodeList(h: string): MessageInspectApplicationList {
  const v = new EdfDecoder().decode(unhex(h));
  assert.ok(v instanceof MessageInspectApplicationList, `a MessageInspectApplicationList, got ${String(v)}`);
  return v;
}

function checkApp(info: InspectApplicationInfo | undefined, a: App): void {
  assert.ok(info, `application ${a.name}`);
  assert.equal(info.name, a.name);
  assert.equal(info.description, a.description);
  assert.equal(info.version.release, '1.0');
  assert.equal(info.mode, 1);
  assert.equal(info.state, a.state);
  assert.equal(info.uptime, 5);
  assert.deepEqual(
    (info.group ?? []).map((p) => String(p)),
    a.group.map((id) => String(new PID(NODE as Atom, id, CREATION))),
  );
}

test('ApplicationInfo before 3.2.0 (no Tags, no Map): the inspector list decodes, Tags and Map empty', () => {
  const m = decodeList(listHex([PEER_APP, LOADED], false));
  assert.equal(m.node, NODE);
  assert.equal(m.applications?.size, 2);
  checkApp(m.applications?.get('peer_app'), PEER_APP);
  checkApp(m.applications?.get('other'), LOADED);
  const info = m.applications!.get('peer_app')!;
  assert.equal(info.tags, null);
  assert.equal(info.map, null);
  // RemoteNode.applicationInfo's conversion reads it as empty tags and map.
  const conv = fromWireApplicationInfo(info, NODE);
  assert.deepEqual(conv.tags, []);
  assert.deepEqual(conv.map, {});
});

test('ApplicationInfo of 3.2.0 (Tags, Map after Weight): decodes, and is what we encode', () => {
  const app = { ...PEER_APP, tags: ['blue', 'canary'], map: [['api', 'api_server']] as [string, string][] };
  const h = listHex([app], true);
  const m = decodeList(h);
  const info = m.applications!.get('peer_app')!;
  checkApp(info, app);
  assert.deepEqual(info.tags, ['blue', 'canary']);
  assert.deepEqual([...(info.map ?? [])], [['api', 'api_server']]);
  // Encoding keeps 3.2.0's layout (this node is 3.2.0), whichever layout the value came in.
  assert.equal(hex(new EdfEncoder().encode(m)), h);
  const old = decodeList(listHex([PEER_APP], false));
  assert.equal(hex(new EdfEncoder().encode(old)), listHex([{ ...PEER_APP }], true));
});

test('an old-layout Description whose length starts like a 3.2.0 Tags marker still decodes', () => {
  // 0x9d10 bytes: the first byte of its length is the slice marker 0x9d, so the 3.2.0 list reads
  // a Tags count out of the text and fails further on; the old list then reads it whole.
  const long = { ...PEER_APP, description: 'x'.repeat(0x9d10) };
  const m = decodeList(listHex([long, LOADED], false));
  checkApp(m.applications?.get('peer_app'), long);
  checkApp(m.applications?.get('other'), LOADED);
  // And 0xff.. (a nil Tags, then Map's marker from the text): also rejected by the 3.2.0 list.
  const longer = { ...PEER_APP, description: '\u00ff'.repeat(0xff10 / 2) };
  checkApp(decodeList(listHex([longer], false)).applications?.get('peer_app'), longer);
});

test('malformed ApplicationInfo bytes fail with the error that got furthest, and lose nothing after', () => {
  // The old layout with Group's marker broken: 3.2.0's list fails at Tags, the old one at Group.
  const good = listHex([PEER_APP], false);
  const at = good.lastIndexOf('9d' + u32(1));
  const bad = good.slice(0, at) + '42' + good.slice(at + 2);
  const d = new EdfDecoder();
  assert.throws(
    () => d.decode(unhex(bad)),
    (e: unknown) =>
      e instanceof EdfError && e.code === 'ERR_EDF_DECODE' && e.offset === at / 2 && /0x42/.test(e.message),
  );
  // The same decoder reads the next message normally.
  const next = d.decode(unhex(good));
  assert.ok(next instanceof MessageInspectApplicationList);
  checkApp(next.applications?.get('peer_app'), PEER_APP);
});

test('registerStruct olderLayouts: a user struct that grew decodes in both layouts, encodes the current', () => {
  const r = createRegistry();
  class Order {
    id = 0;
    tags: string[] | null = null;
    note = '';
    qty = 0;
  }
  const T = r.registerStruct<Order>(
    '#example.com/shop/Order',
    { id: Go.int32, tags: Go.slice(Go.string), note: Go.string, qty: Go.int16 },
    {
      class: Order,
      olderLayouts: [
        ['id', 'note', 'qty'],
        ['id', 'qty'],
      ],
    },
  );
  assert.deepEqual(
    T.olderLayouts.map((l) => l.map((f) => f.name)),
    [
      ['id', 'note', 'qty'],
      ['id', 'qty'],
    ],
  );
  const head = reg('#example.com/shop/Order');
  const dec = new EdfDecoder({ registry: r });
  const cur = dec.decode(unhex(head + u32(7) + '9d' + u32(1) + str('a') + str('n') + '0003')) as Order;
  assert.deepEqual({ ...cur }, { id: 7, tags: ['a'], note: 'n', qty: 3 });
  const v1 = dec.decode(unhex(head + u32(7) + str('n') + '0003')) as Order;
  assert.ok(v1 instanceof Order);
  assert.deepEqual({ ...v1 }, { id: 7, tags: null, note: 'n', qty: 3 });
  const v0 = dec.decode(unhex(head + u32(7) + '0003')) as Order;
  assert.deepEqual({ ...v0 }, { id: 7, tags: null, note: '', qty: 3 });
  assert.equal(hex(new EdfEncoder({ registry: r }).encode(v0)), head + u32(7) + 'ff' + str('') + '0003');
  // The decoder tries the layout that last worked first (a peer keeps its version); any order of
  // versions still decodes: v0 was last, now the current one, v1, v0 again.
  for (const [h, want] of [
    [u32(8) + '9d' + u32(0) + str('m') + '0004', { id: 8, tags: [], note: 'm', qty: 4 }],
    [u32(9) + str('k') + '0005', { id: 9, tags: null, note: 'k', qty: 5 }],
    [u32(10) + '0006', { id: 10, tags: null, note: '', qty: 6 }],
    [u32(11) + str('j') + '0007', { id: 11, tags: null, note: 'j', qty: 7 }],
  ] as const)
    assert.deepEqual({ ...(dec.decode(unhex(head + h)) as Order) }, want);
  // In a slice of two 8-byte elements (layout 1, empty note): the count check before decoding
  // them uses the shortest layout (6 bytes), not the current one (9: 18 > 16 bytes left).
  const desc = '9d' + reg('#example.com/shop/Order');
  const many =
    '82' + u16(desc.length / 2) + desc + '9d' + u32(2) + u32(1) + str('') + '0001' + u32(2) + str('') + '0002';
  const list = dec.decode(unhex(many)) as Order[];
  assert.deepEqual(
    list.map((o) => [o.id, o.qty]),
    [
      [1, 1],
      [2, 2],
    ],
  );
});

test('a layout that fails is rewound: nesting it entered does not count against what follows', () => {
  // Box{X any; Y int8}, formerly Box{Y int8}. An old Box is one byte, 0x83: the current layout
  // reads it as a registered value in X (one nesting level in) and fails on the type id; three
  // such elements, then a value one level deep, all within maxDepth 4 once each try is undone.
  const r = createRegistry();
  r.register({ name: '#example.com/p/Box', fields: { x: Go.any, y: Go.int8 }, olderLayouts: [['y']] });
  const desc = '9d' + reg('#example.com/p/Box');
  const h =
    '82' +
    u16(2) +
    '9d84' +
    '9d' +
    u32(2) + // []any of two:
    '82' +
    u16(desc.length / 2) +
    desc +
    '9d' +
    u32(3) +
    '838383' + // []Box, three old ones
    '84' +
    '9201'; // any(int8(1))
  const v = new EdfDecoder({ registry: r, limits: { maxDepth: 4 } }).decode(unhex(h)) as unknown[];
  assert.deepEqual(
    (v[0] as { y: number }[]).map((b) => b.y),
    [-125, -125, -125],
  );
  assert.equal(v[1], 1);
});

test('olderLayouts that cannot be right are refused at registration', () => {
  const r = createRegistry();
  const fields = { a: Go.int32, b: Go.string, c: Go.int16 };
  const bad = (olderLayouts: unknown, re: RegExp, n: number): void => {
    assert.throws(
      () => r.register({ name: `#example.com/p/S${n}`, fields, olderLayouts: olderLayouts as string[][] }),
      (e: unknown) => e instanceof EdfError && e.code === 'ERR_EDF_REGISTER' && re.test(e.message),
    );
  };
  bad([['a', 'x']], /"x" is not a field/, 1);
  bad([['c', 'a']], /out of the struct's field order/, 2);
  bad([['a', 'a']], /repeated or out of/, 3);
  bad([['a', 'b', 'c']], /has every field/, 4);
  bad([['a'], ['a']], /repeats an earlier layout/, 5);
  bad('a', /must be a list of field lists/, 6);
  bad([['a'], 'b'], /olderLayouts\[1\] must be a list of field names/, 7);
  // None of them was registered.
  for (let n = 1; n <= 7; n++) assert.equal(r.type(`#example.com/p/S${n}`), undefined);
});

test('the framework registers both ApplicationInfo layouts', () => {
  const t = defaultRegistry.type(FrameworkTypeName.ApplicationInfo)!;
  assert.deepEqual(
    t.fields!.map((f) => f.name),
    [
      'name',
      'weight',
      'tags',
      'map',
      'description',
      'version',
      'env',
      'depends',
      'mode',
      'state',
      'parent',
      'uptime',
      'group',
    ],
  );
  assert.deepEqual(
    t.olderLayouts.map((l) => l.map((f) => f.name)),
    [['name', 'weight', 'description', 'version', 'env', 'depends', 'mode', 'state', 'parent', 'uptime', 'group']],
  );
});
