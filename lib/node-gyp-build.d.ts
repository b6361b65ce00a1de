declare module 'node-gyp-build' {
  /** Loads the addon of the package at `dir` from build/ or prebuilds/. */
  function nodeGypBuild(dir: string): unknown;
  export default nodeGypBuild;
}
