// The value syntax every `--with-*` option shares with Ergo's `ergo -init`:
//
//   [Parent:]Name[{key:value,key2:value2,flag}]
//
// Parameters are split on `,` and then on the first `:`; a key without a value is the flag
// `true`. Values are strings (the model converts and checks them). Unlike Go's tool, a value
// may be quoted ('k:"a,b"') to hold a comma, and bad input is an error instead of being dropped.

import { CreateError, CreateErrorCode } from './errors.js';

/** One parsed option value. */
export interface ParamSpec {
  /** The parent's name when the value was `Parent:Name`, else undefined. */
  parent: string | undefined;
  name: string;
  /** Parameter name → value (`true` for a bare flag), in the order written. */
  params: Map<string, string | true>;
}

/**
 * Parses `[Parent:]Name[{k:v,flag}]`. `option` names the option in error messages.
 * @throws CreateError ERR_CREATE_SYNTAX for an empty name or parent, unbalanced or trailing
 *   braces, an empty or repeated parameter key.
 */
export function parseParamSpec(value: string, option: string): ParamSpec {
  const where = `${option} ${JSON.stringify(value)}`;
  const text = value.trim();
  let head = text;
  let body: string | undefined;
  const open = text.indexOf('{');
  if (open >= 0) {
    if (!text.endsWith('}'))
      throw new CreateError(
        CreateErrorCode.Syntax,
        `${where}: parameters must end with "}" (quote the value in your shell)`,
      );
    head = text.slice(0, open);
    body = text.slice(open + 1, -1);
    if (body.includes('{') || body.includes('}')) {
      // Braces only in quoted values.
      const unquoted = body.replace(/"[^"]*"/g, '');
      if (unquoted.includes('{') || unquoted.includes('}'))
        throw new CreateError(CreateErrorCode.Syntax, `${where}: unbalanced braces`);
    }
  } else if (text.includes('}')) {
    throw new CreateError(CreateErrorCode.Syntax, `${where}: "}" without "{"`);
  }
  const colon = head.indexOf(':');
  let parent: string | undefined;
  let name = head;
  if (colon >= 0) {
    parent = head.slice(0, colon).trim();
    name = head.slice(colon + 1).trim();
    if (parent === '') throw new CreateError(CreateErrorCode.Syntax, `${where}: empty parent before ":"`);
    if (name.includes(':'))
      throw new CreateError(CreateErrorCode.Syntax, `${where}: more than one ":" before the name`);
  }
  name = name.trim();
  if (name === '') throw new CreateError(CreateErrorCode.Syntax, `${where}: the name is empty`);
  return { parent, name, params: body === undefined ? new Map() : parseParams(body, where) };
}

function parseParams(body: string, where: string): Map<string, string | true> {
  const params = new Map<string, string | true>();
  if (body.trim() === '') return params;
  for (const item of splitOutsideQuotes(body, where)) {
    const colon = item.indexOf(':');
    const key = (colon < 0 ? item : item.slice(0, colon)).trim();
    if (key === '') throw new CreateError(CreateErrorCode.Syntax, `${where}: a parameter without a key`);
    if (params.has(key)) throw new CreateError(CreateErrorCode.Syntax, `${where}: parameter "${key}" given twice`);
    if (colon < 0) {
      params.set(key, true);
      continue;
    }
    let v = item.slice(colon + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    params.set(key, v);
  }
  return params;
}

function splitOutsideQuotes(body: string, where: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of body) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quoted) throw new CreateError(CreateErrorCode.Syntax, `${where}: unterminated quote`);
  parts.push(current);
  return parts;
}
