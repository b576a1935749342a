// create-ergo-ts as a library: the parser, the model and the generator behind
// `npm create ergo-ts`, for tools that scaffold ergo-ts projects themselves.
export { CreateError, CreateErrorCode } from './errors.js';
export { parseParamSpec, type ParamSpec } from './params.js';
export { parseCliArgs, USAGE, type CliOptions } from './args.js';
export {
  buildProject,
  checkIdentifier,
  pingTarget,
  startsWithNode,
  usesTls,
  defaultNodeNameOf,
  KIND_OPTION,
  LOGGERS,
  type Declaration,
  type Item,
  type ItemKind,
  type LoggerName,
  type Project,
  type ProjectOptions,
} from './model.js';
export { generateFiles, writeProject } from './generate.js';
export { resolveFrom, tarballPrefix, type PackageSource } from './from.js';
export { run, resolveProject, ergoVersion, shellQuote, type RunIO } from './create.js';
