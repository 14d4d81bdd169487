// Protobuf request bodies (kubectl ≥ 1.32 sends them for `kubectl create <generator>`),
// decoded into the same JSON objects a JSON body gives. Replies stay JSON.
export { decodeProtobufObject, supportsProtobuf, protobufMediaType, jsonOnlyMediaTypes } from './envelope.ts';
