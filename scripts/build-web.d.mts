export function webBuildIsStale(): boolean;
export function buildWeb(options?: { quiet?: boolean }): void;
