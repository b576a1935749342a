// Standard Schema v1 (https://standardschema.dev): the interface zod 4, valibot, arktype and
// others implement. The spec asks libraries that accept schemas to copy its types rather than
// depend on a package, so the core keeps zero runtime dependencies; this file is types only and
// written from the published spec.

/**
 * A schema any Standard Schema v1 library produces: its `~standard` property validates a value
 * and carries the input/output types. ergo-ts protocols accept any of them.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

/** The types of Standard Schema v1 (namespace as the spec defines it). */
export declare namespace StandardSchemaV1 {
  /** The `~standard` property. */
  export interface Props<Input = unknown, Output = Input> {
    /** Always 1. */
    readonly version: 1;
    /** The library that made the schema ("zod", "valibot", "ergo-ts"...). */
    readonly vendor: string;
    /** Validates `value`; a library may answer with a Promise (ergo-ts refuses those, see protocol.ts). */
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    /** Type carrier (undefined at run time). */
    readonly types?: Types<Input, Output> | undefined;
  }

  /** A validation result. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;

  /** Success: the (possibly transformed) value. */
  export interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }

  /** Failure: at least one issue. */
  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }

  /** One problem found, with where it is. */
  export interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }

  /** A path segment a library may give as an object. */
  export interface PathSegment {
    readonly key: PropertyKey;
  }

  /** Input and output types. */
  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }

  /** The input type of a schema. */
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input'];

  /** The output type of a schema. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
}
