// A node:test reporter for the matrix: one JSON line per finished test, with the file it is in.
// The matrix runs the generated tests of every flag set in one `node --test` process, and this is
// how it tells which set's files passed, failed or skipped (the spec and TAP reporters do not say
// which file a test came from).

/** One finished test of the run, as a line of the reporter's output. */
export interface TestResult {
  /** 'pass', or 'fail' with `error`; a skipped or todo test passes with `skip`/`todo` set. */
  outcome: 'pass' | 'fail';
  /** Absolute path of the compiled test file. */
  file: string;
  name: string;
  /** 0 for a top-level test. */
  nesting: number;
  skip?: string | boolean;
  todo?: string | boolean;
  /** The failure, with its cause (node:test wraps a test's error in one of its own). */
  error?: string;
}

interface ReporterEvent {
  type: string;
  data: {
    file?: string;
    name: string;
    nesting: number;
    skip?: string | boolean;
    todo?: string | boolean;
    details?: { error?: Error & { cause?: unknown } };
  };
}

function describeError(err: (Error & { cause?: unknown }) | undefined): string {
  if (err === undefined) return '';
  const cause = err.cause instanceof Error ? err.cause : undefined;
  return cause !== undefined ? `${cause.stack ?? cause.message}` : `${err.stack ?? err.message}`;
}

/** The reporter (`node --test --test-reporter=<this file>`): yields a {@link TestResult} per line. */
export default async function* resultsReporter(source: AsyncIterable<ReporterEvent>): AsyncGenerator<string> {
  for await (const { type, data } of source) {
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const result: TestResult = {
      outcome: type === 'test:pass' ? 'pass' : 'fail',
      file: data.file ?? '',
      name: data.name,
      nesting: data.nesting,
      ...(data.skip !== undefined ? { skip: data.skip } : {}),
      ...(data.todo !== undefined ? { todo: data.todo } : {}),
      ...(type === 'test:fail' ? { error: describeError(data.details?.error) } : {}),
    };
    yield JSON.stringify(result) + '\n';
  }
}
