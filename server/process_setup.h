// Process-wide settings for a process that serves segments: the binary's
// main() and the benchmarks that host a SegmentsServer in their own process
// call it, so both measure the same server.
#ifndef SEGMENTS_SERVER_PROCESS_SETUP_H_
#define SEGMENTS_SERVER_PROCESS_SETUP_H_

namespace segments {

// Idempotent; call before serving.
void ConfigureProcessForServing();

// Raises the soft limit of open file descriptors to the hard limit (part of
// ConfigureProcessForServing).
void RaiseDescriptorLimit();

}  // namespace segments

#endif  // SEGMENTS_SERVER_PROCESS_SETUP_H_
