// libjpeg reports errors by calling error_exit, which must not return: the JPEG loader and
// writer jump back to their setjmp with the library's message instead of exiting the process.
#pragma once
#include <csetjmp>
#include <cstdio>

#include <jpeglib.h>

struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

inline void on_jpeg_error(j_common_ptr info) {
  auto* error = reinterpret_cast<JpegError*>(info->err);
  info->err->format_message(info, error->message);
  std::longjmp(error->jump, 1);
}
