/** Types for the talisman modules the matcher uses (the package ships none). */
declare module 'talisman/metrics/jaro-winkler.js' {
  const jaroWinkler: (a: string, b: string) => number;
  export default jaroWinkler;
}
declare module 'talisman/metrics/damerau-levenshtein.js' {
  const damerauLevenshtein: (a: string, b: string) => number;
  export default damerauLevenshtein;
}
