// MQTT 5.0 properties (section 2.2.2): the identifiers, their value types, and the fields Warren
// reads and writes. One Properties object holds what any packet may carry.

export const Prop = {
  payloadFormat: 0x01,
  messageExpiry: 0x02,
  contentType: 0x03,
  responseTopic: 0x08,
  correlationData: 0x09,
  subscriptionId: 0x0b,
  sessionExpiry: 0x11,
  assignedClientId: 0x12,
  serverKeepAlive: 0x13,
  authMethod: 0x15,
  authData: 0x16,
  requestProblemInfo: 0x17,
  willDelay: 0x18,
  requestResponseInfo: 0x19,
  responseInfo: 0x1a,
  serverReference: 0x1c,
  reasonString: 0x1f,
  receiveMaximum: 0x21,
  topicAliasMaximum: 0x22,
  topicAlias: 0x23,
  maximumQos: 0x24,
  retainAvailable: 0x25,
  userProperty: 0x26,
  maximumPacketSize: 0x27,
  wildcardAvailable: 0x28,
  subscriptionIdAvailable: 0x29,
  sharedAvailable: 0x2a,
} as const;

export interface Properties {
  payloadFormat?: number;
  messageExpiry?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Uint8Array;
  subscriptionIds?: number[];
  sessionExpiry?: number;
  assignedClientId?: string;
  serverKeepAlive?: number;
  authMethod?: string;
  authData?: Uint8Array;
  requestProblemInfo?: number;
  willDelay?: number;
  requestResponseInfo?: number;
  reasonString?: string;
  receiveMaximum?: number;
  topicAliasMaximum?: number;
  topicAlias?: number;
  maximumQos?: number;
  retainAvailable?: number;
  userProperties?: [string, string][];
  maximumPacketSize?: number;
  wildcardAvailable?: number;
  subscriptionIdAvailable?: number;
  sharedAvailable?: number;
}

type Kind = "byte" | "u16" | "u32" | "varint" | "string" | "binary" | "pair";

/** Each identifier: its field, its value type. */
export const PROPERTY_TYPES = new Map<number, [keyof Properties, Kind]>([
  [Prop.payloadFormat, ["payloadFormat", "byte"]],
  [Prop.messageExpiry, ["messageExpiry", "u32"]],
  [Prop.contentType, ["contentType", "string"]],
  [Prop.responseTopic, ["responseTopic", "string"]],
  [Prop.correlationData, ["correlationData", "binary"]],
  [Prop.subscriptionId, ["subscriptionIds", "varint"]],
  [Prop.sessionExpiry, ["sessionExpiry", "u32"]],
  [Prop.assignedClientId, ["assignedClientId", "string"]],
  [Prop.serverKeepAlive, ["serverKeepAlive", "u16"]],
  [Prop.authMethod, ["authMethod", "string"]],
  [Prop.authData, ["authData", "binary"]],
  [Prop.requestProblemInfo, ["requestProblemInfo", "byte"]],
  [Prop.willDelay, ["willDelay", "u32"]],
  [Prop.requestResponseInfo, ["requestResponseInfo", "byte"]],
  [Prop.reasonString, ["reasonString", "string"]],
  [Prop.receiveMaximum, ["receiveMaximum", "u16"]],
  [Prop.topicAliasMaximum, ["topicAliasMaximum", "u16"]],
  [Prop.topicAlias, ["topicAlias", "u16"]],
  [Prop.maximumQos, ["maximumQos", "byte"]],
  [Prop.retainAvailable, ["retainAvailable", "byte"]],
  [Prop.userProperty, ["userProperties", "pair"]],
  [Prop.maximumPacketSize, ["maximumPacketSize", "u32"]],
  [Prop.wildcardAvailable, ["wildcardAvailable", "byte"]],
  [Prop.subscriptionIdAvailable, ["subscriptionIdAvailable", "byte"]],
  [Prop.sharedAvailable, ["sharedAvailable", "byte"]],
]);

/** Field name -> identifier, for encoding. */
export const PROPERTY_IDS = new Map<keyof Properties, number>([...PROPERTY_TYPES].map(([id, [name]]) => [name, id]));
