/** One shape of SageMaker's service model, as botocore states it (documentation dropped). */
export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'float' | 'double' | 'timestamp' | 'blob';
  required?: string[];
  /** Member name → shape name. */
  members?: Record<string, string>;
  /** A list's item shape. */
  member?: string;
  key?: string;
  value?: string;
  /** Length (strings, lists, maps) or value (numbers) bounds. */
  min?: number;
  max?: number;
  /** Java regular expression the whole value must match. */
  pattern?: string;
  enum?: string[];
  sensitive?: boolean;
}
