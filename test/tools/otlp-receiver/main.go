// A real OTLP trace receiver for authzd's tracing tests (test/integration/tracing.test.ts): it decodes what
// it receives with the OpenTelemetry Collector's own OTLP data model (go.opentelemetry.io/collector/pdata, the
// code the Collector's OTLP receiver decodes with), over OTLP/HTTP (protobuf or JSON bodies, /v1/traces) and
// OTLP/gRPC, and writes every export request to stdout as one line of OTLP/JSON, the format of the Collector's
// file exporter. A full Collector built with ocb takes minutes to compile on a small machine; this takes
// seconds, and decodes the same bytes the same way.
//
// The first line on stdout is `listening http=HOST:PORT grpc=HOST:PORT`. With -stall, the HTTP endpoint
// reads each request and never answers (a collector that hangs), so that a test can show decisions do not wait.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

type sink struct {
	mu  sync.Mutex
	out *bufio.Writer
}

// write prints one export request as a line of OTLP/JSON.
func (s *sink) write(req ptraceotlp.ExportRequest) error {
	line, err := req.MarshalJSON()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out.Write(line)
	s.out.WriteByte('\n')
	return s.out.Flush()
}

type grpcTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	sink *sink
}

func (g *grpcTraces) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	return ptraceotlp.NewExportResponse(), g.sink.write(req)
}

func main() {
	httpAddr := flag.String("http", "127.0.0.1:0", "OTLP/HTTP listen address")
	grpcAddr := flag.String("grpc", "127.0.0.1:0", "OTLP/gRPC listen address")
	stall := flag.Bool("stall", false, "never answer OTLP/HTTP requests")
	flag.Parse()
	s := &sink{out: bufio.NewWriter(os.Stdout)}

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if *stall {
			<-r.Context().Done()
			return
		}
		req := ptraceotlp.NewExportRequest()
		json := strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
		if json {
			err = req.UnmarshalJSON(body)
		} else {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			http.Error(w, "undecodable OTLP: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := s.write(req); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp := ptraceotlp.NewExportResponse()
		var out []byte
		if json {
			out, err = resp.MarshalJSON()
			w.Header().Set("Content-Type", "application/json")
		} else {
			out, err = resp.MarshalProto()
			w.Header().Set("Content-Type", "application/x-protobuf")
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(out)
	})
	httpListener, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	grpcListener, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	grpcServer := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(grpcServer, &grpcTraces{sink: s})
	go func() { _ = grpcServer.Serve(grpcListener) }()
	s.mu.Lock()
	fmt.Fprintf(s.out, "listening http=%s grpc=%s\n", httpListener.Addr(), grpcListener.Addr())
	s.out.Flush()
	s.mu.Unlock()
	if err := http.Serve(httpListener, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
