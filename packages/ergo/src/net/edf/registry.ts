// The type registry: Go-named user types (structs, named scalars/slices/maps/arrays, types with
// their own marshaler) and registered errors. A registration is compiled once into a body
// encoder and decoder; the registry also maps JS classes to EDF types so values in `any` slots
// find their type with one Map lookup on their constructor.

import { registeredSentinels } from '../../gen/errors.js';
import { Event } from '../../gen/event.js';
import { PID } from '../../gen/pid.js';
import { ProcessID } from '../../gen/processid.js';
import { Alias, Ref } from '../../gen/ref.js';
import {
  ALIAS_T,
  ANY,
  BINARY,
  ERROR,
  EVENT_T,
  FLOAT32,
  FLOAT64,
  INT16,
  INT32,
  INT64,
  INT8,
  PID_T,
  PROCESSID_T,
  REF_T,
  STRING,
  TIME,
  UINT16,
  UINT32,
  UINT64,
} from './builtin.js';
import { arrayCodec, makeMap, makeSlice, mapCodec, sliceCodec } from './composite.js';
import { EdfError, describe, wrapForeign } from './errors.js';
import { checkOlderLayouts, compileStruct, layoutsDecoder, type StructField } from './struct.js';
import { Tag, TYPE_NAME_MAX_BYTES } from './tags.js';
import { GoTime } from './time.js';
import {
  EdfType,
  Kind,
  TagForm,
  Typed,
  concatBytes,
  mismatch,
  unwrapTyped,
  type BodyDecoder,
  type BodyEncoder,
} from './type.js';

import type {
  CustomTypeSpec,
  EdfClass,
  FieldList,
  NamedTypeSpec,
  StructFields,
  StructOptions,
  StructTypeSpec,
  TypeSpec,
} from './type_spec.js';
// Re-exported: registry.ts was their home before type_spec.ts, and importers still name it.
export type * from './type_spec.js';

/**
 * A type registered under a Go name. Usable as a field/element type in other registrations
 * and with `Go.slice(...)`/`Go.map(...)`; `of(value)` sends a value as this type.
 */
export class RegisteredType<T = unknown> extends EdfType<T> {
  /** The Go registration name, `#<import path>/<Type>`. */
  readonly regName: string;
  /** The Go type name without package (`Order`). */
  readonly shortName: string;
  /** How the body is laid out. */
  readonly form: 'struct' | 'named' | 'custom';
  /** Struct fields in wire order (structs only). */
  readonly fields: readonly StructField[] | undefined;
  /**
   * Field lists of earlier versions of the struct that decoding also accepts, newest first
   * ({@link StructTypeSpec.olderLayouts}); empty for most types.
   */
  readonly olderLayouts: readonly (readonly StructField[])[];
  /** Underlying type (named types only). */
  readonly underlying: EdfType | undefined;
  /** Class of decoded values (structs always have one; generated when not given). */
  readonly cls: EdfClass<T> | undefined;
  /** The registry this type belongs to. */
  readonly registry: EdfRegistry;
  /** @internal `0x83 u16 len name`. */
  readonly header: Uint8Array;
  /** @internal UTF-8 bytes of the registration name. */
  readonly nameBytes: Uint8Array;
  /** @internal In `any` slots the decoded value is wrapped in Typed (nothing identifies it otherwise). */
  readonly wrapInAny: boolean;
  /** @internal Kind of the underlying type (for map keys of named types). */
  readonly underlyingKind: number;

  /** @internal Use {@link EdfRegistry.register}. */
  constructor(
    init: {
      regName: string;
      nameBytes: Uint8Array;
      form: 'struct' | 'named' | 'custom';
      fields?: readonly StructField[] | undefined;
      olderLayouts?: readonly (readonly StructField[])[] | undefined;
      underlying?: EdfType | undefined;
      cls?: EdfClass<T> | undefined;
      minSize: number;
      comparable: boolean;
      nillable: boolean;
    },
    registry: EdfRegistry,
  ) {
    const header = concatBytes([Tag.Reg, init.nameBytes.length >>> 8, init.nameBytes.length & 0xff], init.nameBytes);
    const slash = init.regName.lastIndexOf('/');
    const shortName = init.regName.slice(slash + 1);
    const pkgPath = init.regName.slice(1, slash);
    const pkg = pkgPath.slice(pkgPath.lastIndexOf('/') + 1);
    const notYet: BodyEncoder = () => {
      throw new EdfError('ERR_EDF_REGISTER', `type ${init.regName} is not compiled yet`);
    };
    super({
      kind: Kind.Registered,
      name: pkg === '' ? shortName : `${pkg}.${shortName}`,
      tag: Tag.Reg,
      tagForm: TagForm.Registered,
      desc: header,
      hasReg: true,
      minSize: init.minSize,
      nillable: init.nillable,
      comparable: init.comparable,
      elem: init.underlying?.elem,
      keyType: init.underlying?.keyType,
      valueType: init.underlying?.valueType,
      length: init.underlying?.length,
      enc: notYet,
      dec: notYet as unknown as BodyDecoder,
    });
    this.regName = init.regName;
    this.shortName = shortName;
    this.form = init.form;
    this.fields = init.fields;
    this.olderLayouts = init.olderLayouts ?? [];
    this.underlying = init.underlying;
    this.cls = init.cls;
    this.registry = registry;
    this.header = header;
    this.nameBytes = init.nameBytes;
    this.wrapInAny = init.form !== 'struct' && init.cls === undefined;
    this.underlyingKind = init.underlying?.kind ?? Kind.Registered;
  }

  /**
   * A value of this struct type built from `fields` (what decoding would produce: the
   * registration's `create(fields)`, or an instance of {@link RegisteredType.cls}).
   * @throws EdfError `ERR_EDF_REGISTER` if the type is not a struct.
   */
  make(fields: Record<string, unknown>): T {
    return this.build(fields);
  }

  /** @internal Set at registration. */
  build: (fields: Record<string, unknown>) => T = () => {
    throw new EdfError('ERR_EDF_REGISTER', 'not a struct');
  };
}

const TYPE_NAME_RE = /^#[^\s]+\/[^/\s]+$/;
const INTEGER_KEY_RE = /^(0|[1-9]\d*)$/;
const utf8 = new TextEncoder();

const NAME_TABLE_SIZE = 1024;

/** Bucket of a type name: from its length and last byte (names share long package prefixes). */
function nameSlot(buf: Uint8Array, start: number, n: number): number {
  return n === 0 ? 0 : (n * 257 + buf[start + n - 1]!) & (NAME_TABLE_SIZE - 1);
}

/** Compares from the end, where names of one package differ. */
function sameBytes(a: Uint8Array, b: Uint8Array, start: number): boolean {
  for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[start + i]) return false;
  return true;
}

const SLICE_ANY = makeSlice(ANY);
const MAP_ANY_ANY = makeMap(ANY, ANY);
/** @internal map[string]any — what a plain object becomes. */
export const MAP_STRING_ANY = makeMap(STRING, ANY);

/**
 * A set of registered types and errors. Encoders and decoders use one registry (default: the
 * process-wide `defaultRegistry`, which holds the framework types). Registration is permanent;
 * register everything before the first message of that type travels.
 */
export class EdfRegistry {
  readonly #byName = new Map<string, RegisteredType>();
  readonly #nameTable: (RegisteredType[] | undefined)[] = new Array<RegisteredType[] | undefined>(NAME_TABLE_SIZE).fill(
    undefined,
  );
  readonly #byCtor = new Map<unknown, EdfType>();
  readonly #errorsByText = new Map<string, Error>();
  readonly #sentinels = new Map<string, Error>();
  readonly #list: RegisteredType[] = [];
  readonly #deferred: ((r: EdfRegistry) => void)[] = [];
  readonly #untilMissed: { batch: (r: EdfRegistry) => void; owns: (ctor: unknown) => boolean }[] = [];
  #settling = false;

  constructor() {
    const c = this.#byCtor;
    c.set(PID, PID_T);
    c.set(ProcessID, PROCESSID_T);
    c.set(Ref, REF_T);
    c.set(Alias, ALIAS_T);
    c.set(Event, EVENT_T);
    c.set(Date, TIME);
    c.set(GoTime, TIME);
    c.set(Uint8Array, BINARY);
    c.set(Buffer, BINARY);
    c.set(Array, SLICE_ANY);
    c.set(Map, MAP_ANY_ANY);
    c.set(Error, ERROR);
    c.set(Int8Array, makeSlice(INT8));
    c.set(Int16Array, makeSlice(INT16));
    c.set(Int32Array, makeSlice(INT32));
    c.set(Uint16Array, makeSlice(UINT16));
    c.set(Uint32Array, makeSlice(UINT32));
    c.set(Float32Array, makeSlice(FLOAT32));
    c.set(Float64Array, makeSlice(FLOAT64));
    c.set(BigInt64Array, makeSlice(INT64));
    c.set(BigUint64Array, makeSlice(UINT64));
  }

  /**
   * Registers a type under its Go name and compiles its codec. All field/element types must be
   * builtin or already registered in this registry (Go's rule too).
   * @returns the registered type (use it in other schemas, `Go.slice(t)`, `t.of(value)`).
   * @throws EdfError `ERR_EDF_REGISTER` for a malformed name or schema, a name or class that is
   *   already registered; `ERR_EDF_TYPE_NAME_TOO_LONG` for names over 4095 bytes.
   */
  register<T>(spec: TypeSpec<T>): RegisteredType<T> {
    return this.#register(spec, false);
  }

  /**
   * Registers a Go struct by its field names: `name` is the Go registration name
   * (`#<import path>/<Type>`), `fields` maps each field's JS name to its Go type, in the order
   * the Go struct declares them (EDF is positional: names never travel, order is everything).
   * Unlike {@link EdfRegistry.register} it checks the class: an instance made with
   * `new class()` (when the constructor takes no arguments and does not throw) must have every
   * field and no other own enumerable property (it would not travel), and every value encoded
   * must have every field (`ERR_EDF_FIELD_MISSING`, naming it, instead of a silent zero value).
   * Register at startup, before values of the type travel; the Go side registers the same
   * struct with `edf.RegisterTypeOf` under the same name.
   *
   * @example
   * class Order { id = 0n; items: string[] = []; note = ''; }
   * const OrderT = registry.registerStruct('#github.com/me/shop/msgs/Order',
   *   { id: Go.int64, items: Go.slice(Go.string), note: Go.string }, { class: Order });
   * @returns the registered type (use it in other schemas, `Go.slice(t)`, `t.of(value)`).
   * @throws EdfError `ERR_EDF_REGISTER` (naming the field) for a field the instance lacks, an
   *   own property not in the schema, a bad name or type, a name or class already registered;
   *   `ERR_EDF_TYPE_NAME_TOO_LONG`.
   */
  registerStruct<T extends object = Record<string, unknown>>(
    name: string,
    fields: StructFields<NoInfer<T>>,
    options: StructOptions<T> = {},
  ): RegisteredType<T> {
    if (options === null || typeof options !== 'object')
      throw new EdfError('ERR_EDF_REGISTER', `${String(name)}: options must be an object`);
    const cls = options.class;
    if (cls !== undefined && options.create === undefined && typeof cls === 'function' && fields !== null) {
      checkInstance(String(name), cls, fields as FieldList);
    }
    const spec: StructTypeSpec<T> = { name, fields: fields as FieldList };
    if (cls !== undefined) spec.class = cls;
    if (options.create !== undefined) spec.create = options.create;
    if (options.olderLayouts !== undefined) spec.olderLayouts = options.olderLayouts;
    return this.#register(spec, true);
  }

  /**
   * @internal Queues a batch of registrations (the framework's wire types, registered as their
   * modules load) to run the first time anything reads or adds to this registry, in the order
   * queued and before the reader's call: a process that never encodes or decodes a registered
   * type (an idle node, a node with no peers) skips the ~15 % of ergo-ts's import they cost.
   */
  defer(batch: (r: EdfRegistry) => void): void {
    this.#deferred.push(batch);
  }

  /**
   * @internal Queues a batch that runs only when this registry is asked for a type it lacks (a
   * name read from the wire, a name or class looked up, a value of a class `owns` claims), when
   * every type is listed, or when another type is registered (a name taken twice still fails
   * there). For the inspector's ~100 types: most processes never inspect or are inspected, and
   * registering them on the first connection cost about half of the wire types' time.
   */
  deferUntilMissed(batch: (r: EdfRegistry) => void, owns: (ctor: unknown) => boolean): void {
    this.#untilMissed.push({ batch, owns });
  }

  /** Runs the queued batches (once; a batch's own reads and registrations run it no deeper). */
  #settle(): void {
    if (this.#settling) return;
    this.#settling = true;
    try {
      // Each batch leaves the queue before it runs: one that throws is not run twice.
      for (let b = this.#deferred.shift(); b !== undefined; b = this.#deferred.shift()) b(this);
    } finally {
      this.#settling = false;
    }
  }

  /** Runs every queued batch, those waiting for a miss after the others. */
  #settleMissed(): void {
    if (this.#deferred.length !== 0) this.#settle();
    if (this.#settling) return;
    this.#settling = true;
    try {
      for (let b = this.#untilMissed.shift(); b !== undefined; b = this.#untilMissed.shift()) b.batch(this);
    } finally {
      this.#settling = false;
    }
  }

  #register<T>(spec: TypeSpec<T>, strict: boolean): RegisteredType<T> {
    if (this.#deferred.length !== 0 || this.#untilMissed.length !== 0) this.#settleMissed();
    if (spec === null || typeof spec !== 'object')
      throw new EdfError('ERR_EDF_REGISTER', 'register needs a spec object');
    const name = spec.name;
    if (typeof name !== 'string' || !TYPE_NAME_RE.test(name)) {
      throw new EdfError(
        'ERR_EDF_REGISTER',
        `type name must look like "#<import path>/<Type>", got ${JSON.stringify(name)}`,
      );
    }
    const nameBytes = utf8.encode(name);
    if (nameBytes.length > TYPE_NAME_MAX_BYTES) {
      throw new EdfError(
        'ERR_EDF_TYPE_NAME_TOO_LONG',
        `type name is ${nameBytes.length} bytes (max ${TYPE_NAME_MAX_BYTES})`,
      );
    }
    if (this.#byName.has(name)) throw new EdfError('ERR_EDF_REGISTER', `type ${name} is already registered`);
    const cls = spec.class;
    if (cls !== undefined) {
      if (typeof cls !== 'function') throw new EdfError('ERR_EDF_REGISTER', `${name}: class must be a constructor`);
      if (this.#byCtor.has(cls) || (cls as unknown) === Object) {
        throw new EdfError('ERR_EDF_REGISTER', `${name}: class ${cls.name} already has an EDF type`);
      }
    }
    const forms = ['fields' in spec, 'type' in spec, 'marshal' in spec].filter(Boolean).length;
    if (forms !== 1)
      throw new EdfError('ERR_EDF_REGISTER', `${name}: give exactly one of fields, type, marshal/unmarshal`);

    let t: RegisteredType<T>;
    if ('fields' in spec) t = this.#struct(spec, nameBytes, strict);
    else if ('type' in spec) t = this.#named(spec, nameBytes);
    else t = this.#custom(spec, nameBytes);

    this.#byName.set(name, t as RegisteredType);
    const slot = nameSlot(nameBytes, 0, nameBytes.length);
    const bucket = this.#nameTable[slot];
    if (bucket === undefined) this.#nameTable[slot] = [t as RegisteredType];
    else bucket.push(t as RegisteredType);
    if (t.cls !== undefined) this.#byCtor.set(t.cls, t);
    this.#list.push(t as RegisteredType);
    return t;
  }

  /**
   * Registers an error so that decoding its text returns this very object (Ergo's
   * `RegisterError`). The framework's sentinels (`gen` errors, `defineError`) are known without
   * registration.
   * @throws EdfError `ERR_EDF_REGISTER` if another error with the same text is registered.
   */
  registerError(err: Error): void {
    if (this.#deferred.length !== 0) this.#settle();
    if (!(err instanceof Error))
      throw new EdfError('ERR_EDF_REGISTER', `registerError needs an Error, got ${describe(err)}`);
    const text = String(err.message);
    const prev = this.#errorsByText.get(text);
    if (prev !== undefined && prev !== err)
      throw new EdfError('ERR_EDF_REGISTER', `an error with text ${JSON.stringify(text)} is already registered`);
    this.#errorsByText.set(text, err);
  }

  /** The registered type with this Go name. */
  type(name: string): RegisteredType | undefined {
    if (this.#deferred.length !== 0) this.#settle();
    const t = this.#byName.get(name);
    if (t !== undefined || this.#untilMissed.length === 0) return t;
    this.#settleMissed();
    return this.#byName.get(name);
  }

  /** The registered type whose class is `cls`. */
  typeOf<T>(cls: EdfClass<T>): RegisteredType<T> | undefined {
    if (this.#deferred.length !== 0) this.#settle();
    let t = this.#byCtor.get(cls);
    if (t === undefined && this.#untilMissed.length !== 0) {
      this.#settleMissed();
      t = this.#byCtor.get(cls);
    }
    return t instanceof RegisteredType ? (t as RegisteredType<T>) : undefined;
  }

  /** Every registered type, in registration order. */
  types(): readonly RegisteredType[] {
    if (this.#deferred.length !== 0 || this.#untilMissed.length !== 0) this.#settleMissed();
    return this.#list.slice();
  }

  /** The errors registered with {@link EdfRegistry.registerError}. */
  errors(): readonly Error[] {
    if (this.#deferred.length !== 0) this.#settle();
    return [...this.#errorsByText.values()];
  }

  /**
   * The error object that a received text stands for: a registered error, else a framework
   * sentinel with exactly that text (the first defined wins when two share a text), else
   * undefined.
   */
  errorFor(text: string): Error | undefined {
    if (this.#deferred.length !== 0) this.#settle();
    const u = this.#errorsByText.get(text);
    if (u !== undefined) return u;
    const s = this.#sentinels.get(text);
    if (s !== undefined) return s;
    for (const e of registeredSentinels()) {
      if (e.message === text) {
        this.#sentinels.set(text, e);
        return e;
      }
    }
    return undefined;
  }

  /** @internal EDF type of instances of `ctor` (builtins and registered classes). */
  ctorType(ctor: unknown): EdfType | undefined {
    if (this.#deferred.length !== 0) this.#settle();
    const t = this.#byCtor.get(ctor);
    if (t !== undefined || this.#untilMissed.length === 0 || !this.#untilMissed.some((b) => b.owns(ctor))) return t;
    this.#settleMissed();
    return this.#byCtor.get(ctor);
  }

  /**
   * @internal EDF type of an object whose constructor is not mapped directly: subclasses of
   * Error/Array/Map/Uint8Array/Date, null-prototype objects.
   * @throws EdfError `ERR_EDF_UNREGISTERED`.
   */
  inferObject(v: object): EdfType {
    if (Array.isArray(v)) return SLICE_ANY;
    if (v instanceof Error) return ERROR;
    if (v instanceof Uint8Array) return BINARY;
    if (v instanceof Map) return MAP_ANY_ANY;
    if (v instanceof Date) return TIME;
    const proto = Object.getPrototypeOf(v);
    if (proto === null || proto === Object.prototype) return MAP_STRING_ANY;
    throw new EdfError(
      'ERR_EDF_UNREGISTERED',
      `${describe(v)} has no EDF type: register its class (registry.register) or wrap it with Typed`,
    );
  }

  /** @internal The registered type whose name is the `n` bytes at `buf[start]`. */
  typeByBytes(buf: Uint8Array, start: number, n: number): RegisteredType | undefined {
    if (this.#deferred.length !== 0) this.#settle();
    const t = this.#nameBytesLookup(buf, start, n);
    if (t !== undefined || this.#untilMissed.length === 0) return t;
    this.#settleMissed();
    return this.#nameBytesLookup(buf, start, n);
  }

  #nameBytesLookup(buf: Uint8Array, start: number, n: number): RegisteredType | undefined {
    const bucket = this.#nameTable[nameSlot(buf, start, n)];
    if (bucket !== undefined) {
      for (let i = 0; i < bucket.length; i++) {
        const c = bucket[i]!;
        if (c.nameBytes.length === n && sameBytes(c.nameBytes, buf, start)) return c;
      }
    }
    return undefined;
  }

  #checkFieldType(t: unknown, where: string): EdfType {
    if (!(t instanceof EdfType))
      throw new EdfError('ERR_EDF_REGISTER', `${where}: type must be an EdfType, got ${describe(t)}`);
    const walk = (x: EdfType): void => {
      if (x instanceof RegisteredType) {
        if (this.#byName.get(x.regName) !== x) {
          throw new EdfError(
            'ERR_EDF_REGISTER',
            `${where}: type ${x.regName} must be registered in this registry first`,
          );
        }
        return;
      }
      if (x.elem !== undefined) walk(x.elem);
      if (x.keyType !== undefined) walk(x.keyType);
      if (x.valueType !== undefined) walk(x.valueType);
    };
    walk(t);
    return t;
  }

  #struct<T>(spec: StructTypeSpec<T>, nameBytes: Uint8Array, strict: boolean): RegisteredType<T> {
    const name = spec.name;
    const raw = spec.fields;
    if (raw === null || typeof raw !== 'object')
      throw new EdfError('ERR_EDF_REGISTER', `${name}: fields must be an object or a list of [name, type]`);
    const pairs: (readonly [string, unknown])[] = Array.isArray(raw) ? raw : Object.entries(raw);
    const fields: StructField[] = [];
    const seen = new Set<string>();
    for (const p of pairs) {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || p[0] === '') {
        throw new EdfError('ERR_EDF_REGISTER', `${name}: each field must be [name, type]`);
      }
      const fname = p[0];
      if (!Array.isArray(raw) && INTEGER_KEY_RE.test(fname)) {
        throw new EdfError(
          'ERR_EDF_REGISTER',
          `${name}: field name "${fname}" would be reordered by JS; use the [name, type] list form`,
        );
      }
      if (seen.has(fname)) throw new EdfError('ERR_EDF_REGISTER', `${name}: duplicate field ${fname}`);
      seen.add(fname);
      fields.push({ name: fname, type: this.#checkFieldType(p[1], `${name}.${fname}`) });
    }
    if (spec.create !== undefined && typeof spec.create !== 'function')
      throw new EdfError('ERR_EDF_REGISTER', `${name}: create must be a function`);
    const shortName = name.slice(name.lastIndexOf('/') + 1);
    const cls = (spec.class ?? generatedClass(shortName)) as EdfClass<T>;
    let minSize = 0;
    let comparable = true;
    for (const f of fields) {
      minSize += f.type.minSize;
      comparable &&= f.type.comparable;
    }
    const older = spec.olderLayouts === undefined ? [] : checkOlderLayouts(name, fields, spec.olderLayouts);
    // A value is at least as long as the shortest layout it may come in.
    for (const l of older)
      minSize = Math.min(
        minSize,
        l.reduce((n, f) => n + f.type.minSize, 0),
      );
    const t = new RegisteredType<T>(
      {
        regName: name,
        nameBytes,
        form: 'struct',
        fields,
        olderLayouts: older,
        cls,
        minSize,
        comparable,
        nillable: false,
      },
      this,
    );
    const byCtor = this.#byCtor;
    const slow = (v: unknown): object => {
      if (typeof v !== 'object' || v === null) throw mismatch(t, v);
      if (v instanceof Typed) {
        const u = unwrapTyped(t, v);
        if (u === null || u === undefined) return {};
        return (u as object).constructor === cls ? (u as object) : slow(u);
      }
      const known = byCtor.get(v.constructor);
      if (known !== undefined && known !== t) throw mismatch(t, v);
      return v;
    };
    const plan = { shortName, fields, cls: cls as unknown as new () => object, create: spec.create, slow, strict };
    // The codec is generated at first use, not at registration: a node registers dozens of types
    // at import and most processes use a few of them (generating them all cost ~30 ms a process).
    // Codecs that captured the lazy functions (a composite built from this type) keep calling
    // them: after the first call they are one check and a call more.
    let codec: { enc: BodyEncoder; dec: BodyDecoder } | undefined;
    const compiled = (): { enc: BodyEncoder; dec: BodyDecoder } => {
      if (codec === undefined) {
        const c = compileStruct(plan);
        codec = { enc: c.enc, dec: older.length === 0 ? c.dec : layoutsDecoder(c.dec, plan, older) };
        t.enc = codec.enc;
        t.dec = codec.dec;
      }
      return codec;
    };
    t.enc = (e, v) => compiled().enc(e, v);
    t.dec = (d) => compiled().dec(d);
    const create = spec.create;
    t.build = (values) => {
      if (create !== undefined) return create(values);
      const o = new cls() as Record<string, unknown>;
      for (const f of fields) o[f.name] = values[f.name];
      return o as T;
    };
    return t;
  }

  #named<T>(spec: NamedTypeSpec<T>, nameBytes: Uint8Array): RegisteredType<T> {
    const name = spec.name;
    const u = this.#checkFieldType(spec.type, name);
    const k = u.kind;
    const scalar = k <= Kind.String; // bool, ints, uints, floats, string
    if (!(scalar || k === Kind.Slice || k === Kind.Map || k === Kind.Array)) {
      throw new EdfError(
        'ERR_EDF_REGISTER',
        `${name}: underlying type must be a bool, number, string, slice, map or array (got ${u.name}); use fields for structs`,
      );
    }
    const cls = spec.class;
    const create = spec.create;
    if (create !== undefined && typeof create !== 'function')
      throw new EdfError('ERR_EDF_REGISTER', `${name}: create must be a function`);
    const t = new RegisteredType<T>(
      {
        regName: name,
        nameBytes,
        form: 'named',
        underlying: u,
        cls,
        minSize: u.minSize,
        comparable: u.comparable,
        nillable: u.nillable,
      },
      this,
    );
    let base: { enc: BodyEncoder; dec: BodyDecoder };
    if (k === Kind.Slice) base = sliceCodec(() => t, u.elem!, Tag.Reg);
    else if (k === Kind.Map) base = mapCodec(() => t, u.keyType!, u.valueType!, Tag.Reg);
    else if (k === Kind.Array) base = arrayCodec(() => t, u.length!, u.elem!);
    else base = { enc: u.enc, dec: u.dec };
    const benc = base.enc;
    const bdec = base.dec;
    t.enc = (e, v) => {
      if (typeof v === 'object' && v !== null) {
        if (v instanceof Typed) v = unwrapTyped(t, v);
        else if (cls !== undefined && v instanceof cls) v = (v as { valueOf(): unknown }).valueOf();
      }
      benc(e, v);
    };
    if (create !== undefined || cls !== undefined) {
      const make = create ?? ((x: unknown) => new cls!(x));
      t.dec = (d) => {
        const x = bdec(d);
        try {
          return make(x);
        } catch (err) {
          throw d.fail('ERR_EDF_DECODE', wrapForeign('ERR_EDF_DECODE', `building ${t.name} failed`, err).reason, err);
        }
      };
    } else t.dec = bdec;
    return t;
  }

  #custom<T>(spec: CustomTypeSpec<T>, nameBytes: Uint8Array): RegisteredType<T> {
    const name = spec.name;
    const { marshal, unmarshal } = spec;
    if (typeof marshal !== 'function' || typeof unmarshal !== 'function') {
      throw new EdfError('ERR_EDF_REGISTER', `${name}: marshal and unmarshal must both be functions`);
    }
    const t = new RegisteredType<T>(
      { regName: name, nameBytes, form: 'custom', cls: spec.class, minSize: 4, comparable: true, nillable: false },
      this,
    );
    t.enc = (e, v) => {
      if (v instanceof Typed) v = unwrapTyped(t, v);
      let bytes: unknown;
      try {
        bytes = marshal(v as T);
      } catch (err) {
        throw wrapForeign('ERR_EDF_ENCODE', `marshal of ${t.name} failed`, err);
      }
      if (!(bytes instanceof Uint8Array))
        throw new EdfError('ERR_EDF_ENCODE', `marshal of ${t.name} must return a Uint8Array, got ${describe(bytes)}`);
      e.u32(bytes.length);
      e.bytes(bytes);
    };
    t.dec = (d) => {
      const n = d.u32();
      const start = d.pos;
      const bytes = d.bytesCopy(n);
      try {
        return unmarshal(bytes);
      } catch (err) {
        d.pos = start;
        throw d.fail('ERR_EDF_DECODE', wrapForeign('ERR_EDF_DECODE', `unmarshal of ${t.name} failed`, err).reason, err);
      }
    };
    return t;
  }
}

/**
 * Checks that an instance of `cls` has exactly the schema's fields (registerStruct). Classes
 * whose constructor needs arguments (it throws without them) are checked at encode time only.
 */
function checkInstance(name: string, cls: EdfClass, fields: FieldList): void {
  let inst: unknown;
  try {
    inst = new cls();
  } catch {
    return;
  }
  if (inst === null || typeof inst !== 'object') return;
  const names = Array.isArray(fields)
    ? (fields as ReadonlyArray<readonly [unknown, unknown]>).map((p) => (Array.isArray(p) ? p[0] : undefined))
    : Object.keys(fields);
  const known = new Set<unknown>(names);
  for (const f of names) {
    if (typeof f === 'string' && !(f in inst))
      throw new EdfError(
        'ERR_EDF_REGISTER',
        `${name}: field ${JSON.stringify(f)} is not a property of ${cls.name} instances`,
      );
  }
  for (const k of Object.keys(inst)) {
    if (!known.has(k)) {
      throw new EdfError(
        'ERR_EDF_REGISTER',
        `${name}: property ${JSON.stringify(k)} of ${cls.name} is not in the schema (it would not travel); add it or use register()`,
      );
    }
  }
}

/** A class named after the Go type whose instances hold the struct's fields. */
function generatedClass(shortName: string): EdfClass {
  const holder = {
    [shortName]: class {
      constructor(init?: Record<string, unknown>) {
        if (init !== undefined && init !== null) Object.assign(this, init);
      }
    },
  };
  return holder[shortName]!;
}
