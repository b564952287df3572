// One accepted TCP connection: non-blocking reads, a bounded output queue, and an
// explicit close protocol.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/fd.h"

namespace classchat::net {

class TcpServer;
class TcpConnection;

// Identifies a connection across the process: the low 8 bits are the index of the
// owning loop, bit 8 the owning server's tag (TcpServerOptions::idTag, so that two servers
// on one loop never hand out the same id), the rest a per-server sequence number. Never
// reused during a run.
using ConnectionId = std::uint64_t;
inline std::uint32_t loopIndexOf(ConnectionId id) {
  return static_cast<std::uint32_t>(id & 0xFF);
}

// Per-connection state owned by the application (the chat session). Destroyed with the
// connection.
class ConnectionContext {
 public:
  virtual ~ConnectionContext() = default;
};

// An optional framing applied to what the application sends, for a transport layered on
// the byte stream (a WebSocket wraps every send() as one text frame). Owned by the
// application (typically by the connection's context, which outlives every send);
// net knows nothing of what the framing is.
class OutputFraming {
 public:
  virtual ~OutputFraming() = default;
  // Appends `payload`, wrapped as one frame, to `out`.
  virtual void frame(std::string_view payload, Buffer& out) = 0;
  // Called once by closeAfterFlush, while the connection can still send: a last word
  // (a WebSocket close frame) may be sent with sendUnframed().
  virtual void beforeDrain(TcpConnection& connection, std::string_view reason) = 0;
};

// An optional transformation of the byte stream between the socket and the application
// (TLS: see transport::TlsStream). When a connection has one, every read and write goes
// through it; the application still sends and receives plain bytes. net knows nothing of
// what the codec is. Owned by the connection; used on its loop's thread only.
//
// read() and write() behave like recv() and send(): >0 bytes, 0 for a clean end of the
// input (read only), or -1 with errno EAGAIN (try again when the socket is ready; the
// codec says which readiness it waits for) or EPROTO (the stream is broken: error() says
// why). A codec may need the socket writable to finish a read (a TLS handshake reply) or
// readable to finish a write (a write before the handshake is done); the connection
// watches for that and retries.
class StreamCodec {
 public:
  virtual ~StreamCodec() = default;
  virtual ssize_t read(char* buffer, std::size_t size) = 0;
  virtual ssize_t write(const char* data, std::size_t size) = 0;
  virtual bool readWaitsForWritable() const = 0;
  virtual bool writeWaitsForReadable() const = 0;
  // Input the codec already holds, that no socket readiness will announce.
  virtual bool hasBufferedInput() const = 0;
  // A best-effort, non-blocking last word before the socket is closed (TLS close_notify).
  virtual void shutdown() = 0;
  virtual std::string error() const = 0;
};

// Thread-safety: none. A connection belongs to its loop; other threads reach it only by
// posting to that loop and looking it up by id. Debug builds check the thread at the entry
// points.
//
// Lifetime: owned by its TcpServer. close() and abort() only mark it; the server calls
// ConnectionHandler::onClosed and destroys it at the end of the loop iteration, so a
// connection is never destroyed inside one of its own callbacks.
//
// Three ways to end a connection:
//   closeAfterFlush  the polite one (refusals, timeouts, shutdown): queued output is
//                    written, then the socket is shut down for writing and handed to the
//                    server's LingeringCloser, which discards what the peer still sends, so
//                    that the last reply is not destroyed by an RST.
//   abort            for peers we stop serving (slow consumers, floods): SO_LINGER 0, so
//                    the close sends an RST and the kernel drops the peer's unsent data at
//                    once instead of trickling it out to a reader that does not read.
//   close            the peer is already gone, or an error: just close.
class TcpConnection final : public IoHandler {
 public:
  enum class State : std::uint8_t {
    kOpen,      // reading and writing
    kDraining,  // input is discarded, no more sends; the queued output is being written
    kClosed,    // waiting to be destroyed at the end of the iteration
  };

  TcpConnection(TcpServer& server, Fd socket, ConnectionId id, std::string peerIp,
                std::uint16_t peerPort);
  ~TcpConnection() override;

  ConnectionId id() const { return id_; }
  const std::string& peerIp() const { return peerIp_; }
  std::uint16_t peerPort() const { return peerPort_; }
  State state() const { return state_; }
  // Bytes queued and not yet written (tests, diagnostics).
  std::size_t queuedBytes() const { return output_.size(); }
  // The socket, for diagnostics and tests; owned by the connection.
  int fd() const { return socket_.get(); }

  // Queues bytes; they are written once per loop iteration (batched), through the
  // OutputFraming if one is set. Ignored unless the connection is open. Queuing more than
  // the server's output limit aborts the connection as a slow consumer; callers that care
  // see it in state().
  void send(std::string_view bytes);
  // As send(), but never through the OutputFraming (the framing's own control frames).
  void sendUnframed(std::string_view bytes);
  // nullptr (the default) sends bytes as they are. Not owned.
  void setOutputFraming(OutputFraming* framing) { framing_ = framing; }
  // Stops delivering reads; writes what is queued, then closes with a lingering close, or
  // aborts when the drain deadline passes first.
  void closeAfterFlush(std::string reason);
  // Drops the peer: one non-blocking attempt to hand queued output to the kernel (a last
  // `Error:` line, if there is room), then a close that resets the connection.
  void abort(std::string reason);
  // Closes now; queued output is discarded.
  void close(std::string reason);
  const std::string& closeReason() const { return closeReason_; }
  // What the kernel says of the socket now, without reading (poll with no wait): whether
  // input is waiting, and whether the peer has closed or reset its side (POLLRDHUP), which
  // shows even while input it sent before that is still unread.
  struct PeerStatus {
    bool inputWaiting = false;
    bool hungUp = false;
  };
  PeerStatus peerStatus() const;

  ConnectionContext* context() const { return context_.get(); }
  void setContext(std::unique_ptr<ConnectionContext> context) { context_ = std::move(context); }
  // nullptr for a plain connection. Set by the TcpServer when it accepts (see
  // TcpServer::CodecFactory).
  StreamCodec* codec() const { return codec_.get(); }

  void handleEvent(std::uint32_t events) override;

 private:
  friend class TcpServer;
  void handleRead();
  // Writes as much queued output as the kernel takes; called by the server once per
  // iteration for connections with new output, and on EPOLLOUT.
  void flush();
  // Output written while draining: hands the socket to the lingering close.
  void finishDrain();
  void updateInterest();

  TcpServer& server_;
  Fd socket_;
  ConnectionId id_;
  Buffer output_;
  std::unique_ptr<ConnectionContext> context_;
  OutputFraming* framing_ = nullptr;
  std::unique_ptr<StreamCodec> codec_;  // null: plain TCP
  std::string peerIp_;
  std::string closeReason_;
  std::uint16_t peerPort_;
  State state_ = State::kOpen;
  bool dirty_ = false;       // queued in the server's flush list
  bool wantRead_ = true;     // EPOLLIN registered
  bool wantWrite_ = false;   // EPOLLOUT registered
  bool peerClosed_ = false;  // read EOF: nothing more will come, and nothing is unread
};

}  // namespace classchat::net
