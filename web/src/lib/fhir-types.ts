/** The few FHIR R4 shapes the workbench reads (kept local: web/ never imports server code). */
export interface Coding { system?: string; code?: string; display?: string }
export interface CodeableConcept { coding?: Coding[]; text?: string }
export interface Reference { reference?: string; display?: string; identifier?: { system?: string; value?: string } }
export interface Period { start?: string; end?: string }
export interface Annotation { text: string; time?: string; authorString?: string }
export interface Meta { versionId?: string; lastUpdated?: string; security?: Coding[] }
export interface Resource { resourceType: string; id?: string; meta?: Meta; [k: string]: unknown }
export interface HumanName { use?: string; family?: string; given?: string[]; text?: string }
export interface Identifier { system?: string; value?: string; type?: CodeableConcept; use?: string }
export interface Patient extends Resource {
  resourceType: 'Patient';
  name?: HumanName[];
  gender?: string;
  birthDate?: string;
  deceasedDateTime?: string;
  identifier?: Identifier[];
  address?: { line?: string[]; city?: string; state?: string; postalCode?: string; country?: string }[];
  telecom?: { system?: string; value?: string; use?: string }[];
  link?: { other: Reference; type: string }[];
  active?: boolean;
}
export interface TaskInput { type: CodeableConcept; valueReference?: Reference; valueDecimal?: number; valueString?: string; valueDateTime?: string; valueInteger?: number; valueCode?: string }
export interface Task extends Resource {
  resourceType: 'Task';
  status: string;
  intent?: string;
  priority?: string;
  code?: CodeableConcept;
  description?: string;
  businessStatus?: CodeableConcept;
  for?: Reference;
  focus?: Reference;
  owner?: Reference;
  requester?: Reference;
  authoredOn?: string;
  lastModified?: string;
  restriction?: { period?: Period };
  note?: Annotation[];
  input?: TaskInput[];
  output?: TaskInput[];
}
export interface BundleEntry<T extends Resource = Resource> { resource?: T; search?: { mode?: string }; fullUrl?: string }
export interface Bundle<T extends Resource = Resource> { resourceType: 'Bundle'; type?: string; total?: number; entry?: BundleEntry<T>[]; link?: { relation: string; url: string }[] }
export interface OperationOutcome { resourceType: 'OperationOutcome'; issue?: { severity?: string; code?: string; diagnostics?: string; details?: { text?: string } }[] }
