// Registered structs: fields in declaration order, each as an untagged body. The encoder and
// decoder of a struct are generated once, at registration, as straight-line functions (one
// property access per field), so every struct gets its own monomorphic property-access sites;
// where code generation is not allowed the same logic runs as a loop.
//
// Older layouts: the field lists an earlier version of the Go struct had (Ergo 3.2.0 put `Tags`
// and `Map` into gen.ApplicationInfo; a 3.1 node still sends it without them). EDF writes a
// struct as its fields' bodies back to back, with no count and no length, so nothing on the wire
// says which version a peer used: decoding tries the current field list first, then each older
// one, rewinding the decoder between tries. Encoding always writes the current list.

import { atPath, EdfError, fieldSegment, wrapForeign } from './errors.js';
import type { EdfType, BodyDecoder, BodyEncoder } from './type.js';
import type { EdfDecoder } from './decoder.js';

/** One field of a registered struct: the JS property name and its Go type. */
export interface StructField {
  readonly name: string;
  readonly type: EdfType;
}

/** @internal What compileStruct needs to know about the struct being registered. */
export interface StructPlan {
  /** Short Go name, for generated function names. */
  shortName: string;
  fields: readonly StructField[];
  /** Class whose instances are encoded without checks and which decoding instantiates. */
  cls: new () => object;
  /** Builds the decoded value from the decoded fields (instead of `new cls()` + assignments). */
  create: ((fields: Record<string, unknown>) => unknown) | undefined;
  /** Turns any other value given for the struct into an object to read fields from (or throws). */
  slow: (v: unknown) => object;
  /** Every field must be present on the value (`registerStruct`): a missing one is an error. */
  strict: boolean;
}

/** @internal The error for a field absent from a value of a strict struct. */
export function missingField(name: string): EdfError {
  return new EdfError('ERR_EDF_FIELD_MISSING', `missing field ${JSON.stringify(name)}`);
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

function construct(d: EdfDecoder, what: string, err: unknown): EdfError {
  if (err instanceof EdfError) return err;
  return d.fail('ERR_EDF_DECODE', wrapForeign('ERR_EDF_DECODE', what, err).reason, err);
}

let codegenAllowed: boolean | undefined;
function canGenerate(): boolean {
  if (codegenAllowed === undefined) {
    try {
      codegenAllowed = new Function('return 1')() === 1;
    } catch {
      codegenAllowed = false;
    }
  }
  return codegenAllowed;
}

function identifier(s: string): string {
  const id = s.replace(/[^A-Za-z0-9_$]/g, '_');
  return /^[0-9]/.test(id) ? `_${id}` : id;
}

/** @internal Compiles the body encoder and decoder of a registered struct. */
export function compileStruct(plan: StructPlan): { enc: BodyEncoder; dec: BodyDecoder } {
  return canGenerate() ? generate(plan) : interpret(plan);
}

function generate(plan: StructPlan): { enc: BodyEncoder; dec: BodyDecoder } {
  const { fields, cls, create, slow } = plan;
  const n = fields.length;
  const fn = identifier(plan.shortName);
  const segs = fields.map((f) => fieldSegment(f.name));
  const keys = fields.map((f) => JSON.stringify(f.name));
  const encs = fields.map((f) => f.type.enc);
  const decs = fields.map((f) => f.type.dec);

  // Encoder: v is a value of the struct (instance, plain object, null → zero struct).
  let body = `if (v === null || v === undefined) v = EMPTY;\n`;
  body += `else if (typeof v !== 'object' || v.constructor !== C) v = slow(v);\n`;
  if (n > 0) {
    body += `let i = 0, x;\ntry {\n`;
    for (let i = 0; i < n; i++) {
      body += `  ${i > 0 ? `i = ${i}; ` : ''}`;
      // Strict: an undefined field must at least exist (the common case costs one comparison).
      if (plan.strict)
        body += `x = v[${keys[i]}]; if (x === undefined && v !== EMPTY && !(${keys[i]} in v)) throw missing(${keys[i]}); e${i}(e, x);\n`;
      else body += `e${i}(e, v[${keys[i]}]);\n`;
    }
    body += `} catch (err) { throw atPath(err, segs[i]); }\n`;
  }
  const encParams = ['C', 'EMPTY', 'slow', 'atPath', 'segs', 'missing', ...encs.map((_, i) => `e${i}`)];
  const enc = new Function(...encParams, `return function enc_${fn}(e, v) {\n${body}};`)(
    cls,
    EMPTY,
    slow,
    atPath,
    segs,
    missingField,
    ...encs,
  ) as BodyEncoder;

  // Decoder: fields are read in order into locals, then the value is built.
  let dbody = '';
  for (let i = 0; i < n; i++) dbody += `const f${i} = d${i}(d);\n`;
  if (create !== undefined) {
    const lit = fields.map((_, i) => `${keys[i]}: f${i}`).join(', ');
    dbody += `try { return create({ ${lit} }); } catch (err) { throw fail(d, 'building ${fn} failed', err); }\n`;
  } else {
    dbody += `let o;\ntry { o = new C(); } catch (err) { throw fail(d, 'constructing ${fn} failed', err); }\n`;
    for (let i = 0; i < n; i++) dbody += `o[${keys[i]}] = f${i};\n`;
    dbody += `return o;\n`;
  }
  const decParams = ['C', 'create', 'fail', ...decs.map((_, i) => `d${i}`)];
  const dec = new Function(...decParams, `return function dec_${fn}(d) {\n${dbody}};`)(
    cls,
    create,
    construct,
    ...decs,
  ) as BodyDecoder;
  return { enc, dec };
}

function interpret(plan: StructPlan): { enc: BodyEncoder; dec: BodyDecoder } {
  const { fields, cls, create, slow, strict } = plan;
  const n = fields.length;
  const names = fields.map((f) => f.name);
  const encs = fields.map((f) => f.type.enc);
  const decs = fields.map((f) => f.type.dec);
  const enc: BodyEncoder = (e, v) => {
    let o: Record<string, unknown>;
    if (v === null || v === undefined) o = EMPTY;
    else if (typeof v !== 'object' || v.constructor !== cls) o = slow(v) as Record<string, unknown>;
    else o = v as Record<string, unknown>;
    let i = 0;
    try {
      for (; i < n; i++) {
        const x = o[names[i]!];
        if (strict && x === undefined && o !== EMPTY && !(names[i]! in o)) throw missingField(names[i]!);
        encs[i]!(e, x);
      }
    } catch (err) {
      throw atPath(err, fieldSegment(names[i]!));
    }
  };
  const dec: BodyDecoder = (d) => {
    const vals: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) vals[names[i]!] = decs[i]!(d);
    if (create !== undefined) {
      try {
        return create(vals);
      } catch (err) {
        throw construct(d, `building ${plan.shortName} failed`, err);
      }
    }
    let o: Record<string, unknown>;
    try {
      o = new cls() as Record<string, unknown>;
    } catch (err) {
      throw construct(d, `constructing ${plan.shortName} failed`, err);
    }
    for (let i = 0; i < n; i++) o[names[i]!] = vals[names[i]!];
    return o;
  };
  return { enc, dec };
}

/**
 * Checks the `olderLayouts` of a struct registration: each a list of field names of `fields`,
 * in the same relative order, with fewer names than `fields`, and no two lists alike.
 * @returns the layouts as StructField lists, in the order given (newest first).
 * @throws EdfError `ERR_EDF_REGISTER` naming the struct and the offending layout.
 */
export function checkOlderLayouts(name: string, fields: readonly StructField[], raw: unknown): StructField[][] {
  if (!Array.isArray(raw))
    throw new EdfError('ERR_EDF_REGISTER', `${name}: olderLayouts must be a list of field lists`);
  const index = new Map(fields.map((f, i) => [f.name, i]));
  const seen = new Set<string>();
  const out: StructField[][] = [];
  raw.forEach((layout: unknown, n) => {
    const where = `${name}: olderLayouts[${n}]`;
    if (!Array.isArray(layout)) throw new EdfError('ERR_EDF_REGISTER', `${where} must be a list of field names`);
    let last = -1;
    const picked: StructField[] = [];
    for (const f of layout as unknown[]) {
      const i = typeof f === 'string' ? index.get(f) : undefined;
      if (i === undefined)
        throw new EdfError('ERR_EDF_REGISTER', `${where}: ${JSON.stringify(f)} is not a field of the struct`);
      // Wire order is declaration order: an older version lists its fields in the same order.
      if (i <= last)
        throw new EdfError(
          'ERR_EDF_REGISTER',
          `${where}: field ${JSON.stringify(f)} is repeated or out of the struct's field order`,
        );
      last = i;
      picked.push(fields[i]!);
    }
    if (picked.length >= fields.length)
      throw new EdfError('ERR_EDF_REGISTER', `${where} has every field: it is the current layout, not an older one`);
    const key = picked.map((f) => f.name).join('\0');
    if (seen.has(key)) throw new EdfError('ERR_EDF_REGISTER', `${where} repeats an earlier layout`);
    seen.add(key);
    out.push(picked);
  });
  return out;
}

/**
 * @internal The body decoder of a struct with older layouts: the current layout's decoder, then
 * each older one, from the same position. A layout whose decoder fails is rewound (position,
 * nesting depth and the zero-size budget); when every layout fails, the error that got furthest
 * into the input is thrown (it names the real problem more often than the first layout's).
 * Always newest first, never "the layout that worked last": an older layout may read newer
 * bytes without failing (see StructTypeSpec.olderLayouts), the reverse is what the layouts
 * are chosen for. Errors of a try that another layout follows are built without a stack trace
 * (`trying`): a 3.1 node's application list fails one try per application.
 */
export function layoutsDecoder(current: BodyDecoder, plan: StructPlan, older: readonly StructField[][]): BodyDecoder {
  const decs = [current, ...older.map((fields) => compileStruct({ ...plan, fields }).dec)];
  const n = decs.length;
  return (d) => {
    const pos = d.pos;
    const depth = d.depth;
    const budget = d.zeroBudget;
    let failure: EdfError | undefined;
    for (let i = 0; i < n; i++) {
      const more = i < n - 1;
      if (more) d.trying++;
      try {
        return decs[i]!(d);
      } catch (err) {
        if (!(err instanceof EdfError)) throw err;
        err.finishDecode(d.pos);
        if (failure === undefined || err.offset > failure.offset) failure = err;
        d.pos = pos;
        d.depth = depth;
        d.zeroBudget = budget;
      } finally {
        if (more) d.trying--;
      }
    }
    throw failure!;
  };
}
