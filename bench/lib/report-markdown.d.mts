export function replaceSection(doc: string, name: string, section: string): string;
export function renderLoadSection(results: any): string;
