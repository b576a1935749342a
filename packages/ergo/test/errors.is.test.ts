// ErgoError.is matches what its TSDoc promises: the sentinel itself, or another error carrying the
// same code — an ErgoError, and also a plain Error with that `code` (issue 71 item 7: a workflow
// error rebuilt from its journal was a plain Error carrying the code, and `.is()` answered false,
// so the docs' `if (!ErrWorkflowTimeout.is(err)) throw err` always rethrew). It never throws.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ErgoError, ErrIncorrect, ErrTimeout, defineError, isError } from '../src/index.js';

test('is: the sentinel, a fresh error of it, and an ErgoError of the same code match', () => {
  assert.ok(ErrTimeout.is(ErrTimeout));
  assert.ok(ErrTimeout.is(ErrTimeout.with('detail')));
  assert.ok(ErrTimeout.is(new ErgoError('ERR_TIMEOUT', 'from elsewhere')));
  assert.ok(!ErrTimeout.is(ErrIncorrect.with('other')));
});

test('is: a plain Error carrying the same code matches; one with another code or none does not', () => {
  const plain = Object.assign(new Error('timed out, rebuilt from a store'), { code: 'ERR_TIMEOUT' });
  assert.ok(ErrTimeout.is(plain), 'an Error carrying the code');
  assert.ok(isError(plain, ErrTimeout), 'isError too');
  class Custom extends Error {
    readonly code = 'ERR_MY_THING';
  }
  const Mine = defineError('ERR_MY_THING', 'my thing');
  assert.ok(Mine.is(new Custom('a subclass')));
  assert.ok(!ErrTimeout.is(Object.assign(new Error('x'), { code: 'ERR_INCORRECT' })));
  assert.ok(!ErrTimeout.is(new Error('no code')));
});

test('is: values that are not errors never match, and nothing throws', () => {
  assert.ok(!ErrTimeout.is({ code: 'ERR_TIMEOUT', message: 'an object, not an Error' }));
  assert.ok(!ErrTimeout.is('ERR_TIMEOUT'));
  assert.ok(!ErrTimeout.is(undefined));
  assert.ok(!ErrTimeout.is(null));
  assert.ok(!ErrTimeout.is(Object.create(null)));
  const hostile = new Error('hostile');
  Object.defineProperty(hostile, 'code', {
    get() {
      throw new Error('no code for you');
    },
  });
  assert.ok(!ErrTimeout.is(hostile));
});
