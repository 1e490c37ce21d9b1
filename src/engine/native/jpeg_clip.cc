// Loads a clip's frames for training in one job on libuv's thread pool: each JPEG is decoded
// with libjpeg-turbo (with DCT scaling when the crop is much larger than the output), then
// warped (crop, scale, rotation, flip; bilinear; black outside) and normalised into the batch
// tensor's memory. Per frame this does what sharp plus a warp pass do, at a third of the CPU
// and off the JavaScript thread.
#include <node_api.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "kernels.h"

namespace {

struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_jpeg_error(j_common_ptr info) {
  auto* error = reinterpret_cast<JpegError*>(info->err);
  info->err->format_message(info, error->message);
  std::longjmp(error->jump, 1);
}

// Decodes `file` to RGB, shrunk by 1/denominator (1, 2, 4 or 8) during the DCT.
bool decode(const std::string& file, int denominator, std::vector<uint8_t>* rgb, int* width, int* height, std::string* why) {
  FILE* handle = std::fopen(file.c_str(), "rb");
  if (!handle) {
    *why = file + ": cannot open";
    return false;
  }
  jpeg_decompress_struct info;
  JpegError error;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = on_jpeg_error;
  if (setjmp(error.jump)) {
    *why = file + ": " + error.message;
    jpeg_destroy_decompress(&info);
    std::fclose(handle);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_stdio_src(&info, handle);
  jpeg_read_header(&info, TRUE);
  info.out_color_space = JCS_RGB;
  info.scale_num = 1;
  info.scale_denom = denominator;
  info.dct_method = JDCT_ISLOW;
  jpeg_start_decompress(&info);
  *width = int(info.output_width);
  *height = int(info.output_height);
  rgb->resize(size_t(*width) * *height * 3);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = rgb->data() + size_t(info.output_scanline) * *width * 3;
    jpeg_read_scanlines(&info, &row, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  std::fclose(handle);
  return true;
}

struct ClipJob {
  std::vector<std::string> files;
  double params[12];  // output -> source map in full-size frame coordinates, mean x3, std x3
  int size;
  int denominator;
  float* out;
  std::string error;
  napi_ref out_ref;
  napi_deferred deferred;
  napi_async_work work;
};

void execute(napi_env, void* data) {
  auto* job = static_cast<ClipJob*>(data);
  std::vector<uint8_t> rgb;
  const int S = job->size;
  const double* p = job->params;
  float scale[3], shift[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = float(1.0 / (255.0 * p[9 + c]));
    shift[c] = float(p[6 + c] / p[9 + c]);
  }
  const double k = 1.0 / job->denominator;  // full-size coordinates -> decoded coordinates
  for (size_t f = 0; f < job->files.size(); ++f) {
    int W = 0, H = 0;
    if (!decode(job->files[f], job->denominator, &rgb, &W, &H, &job->error)) return;
    float* o = job->out + size_t(f) * S * S * 3;
    for (int v = 0; v < S; ++v) {
      const double qy = v + 0.5;
      for (int u = 0; u < S; ++u) {
        const double qx = u + 0.5;
        const double sx = (p[0] * qx + p[1] * qy + p[4]) * k - 0.5;
        const double sy = (p[2] * qx + p[3] * qy + p[5]) * k - 0.5;
        const int x0 = int(sx < 0 ? sx - 1 : sx), y0 = int(sy < 0 ? sy - 1 : sy);  // floor
        const float fx = float(sx - x0), fy = float(sy - y0);
        const float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        float* dst = o + (size_t(v) * S + u) * 3;
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
          const uint8_t* a = rgb.data() + (size_t(y0) * W + x0) * 3;
          const uint8_t* b = a + size_t(W) * 3;
          for (int c = 0; c < 3; ++c) dst[c] = (a[c] * w00 + a[c + 3] * w01 + b[c] * w10 + b[c + 3] * w11) * scale[c] - shift[c];
          continue;
        }
        for (int c = 0; c < 3; ++c) {
          float value = 0.f;
          auto tap = [&](int x, int y, float w) {
            if (x >= 0 && y >= 0 && x < W && y < H) value += rgb[(size_t(y) * W + x) * 3 + c] * w;
          };
          tap(x0, y0, w00);
          tap(x0 + 1, y0, w01);
          tap(x0, y0 + 1, w10);
          tap(x0 + 1, y0 + 1, w11);
          dst[c] = value * scale[c] - shift[c];
        }
      }
    }
  }
}

void complete(napi_env env, napi_status, void* data) {
  auto* job = static_cast<ClipJob*>(data);
  if (job->error.empty()) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, job->deferred, undefined);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, job->error.c_str(), job->error.size(), &message);
    napi_create_error(env, nullptr, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_reference(env, job->out_ref);
  napi_delete_async_work(env, job->work);
  delete job;
}

}  // namespace

// loadJpegClip(files: string[], params: Float64Array(12), header: Int32Array[size, denominator, offset], out: Float32Array): Promise<void>
napi_value LoadJpegClip(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool is_array = false;
  if (argc == 4) napi_is_array(env, argv[0], &is_array);
  void *params_raw = nullptr, *header_raw = nullptr, *out_raw = nullptr;
  size_t params_len = 0, header_len = 0, out_len = 0;
  napi_typedarray_type t1 = napi_int8_array, t2 = napi_int8_array, t3 = napi_int8_array;
  bool typed = is_array;
  for (int i = 1; typed && i < 4; ++i) napi_is_typedarray(env, argv[i], &typed);
  if (typed) {
    napi_get_typedarray_info(env, argv[1], &t1, &params_len, &params_raw, nullptr, nullptr);
    napi_get_typedarray_info(env, argv[2], &t2, &header_len, &header_raw, nullptr, nullptr);
    napi_get_typedarray_info(env, argv[3], &t3, &out_len, &out_raw, nullptr, nullptr);
  }
  if (!typed || t1 != napi_float64_array || params_len != 12 || t2 != napi_int32_array || header_len != 3 || t3 != napi_float32_array) {
    napi_throw_type_error(env, nullptr, "loadJpegClip(files: string[], params: Float64Array(12), header: Int32Array(3), out: Float32Array)");
    return nullptr;
  }
  auto* job = new ClipJob();
  uint32_t count = 0;
  napi_get_array_length(env, argv[0], &count);
  for (uint32_t i = 0; i < count; ++i) {
    napi_value element;
    napi_get_element(env, argv[0], i, &element);
    size_t length = 0;
    napi_get_value_string_utf8(env, element, nullptr, 0, &length);
    std::string file(length, '\0');
    napi_get_value_string_utf8(env, element, file.data(), length + 1, &length);
    job->files.push_back(file);
  }
  const int32_t* h = static_cast<int32_t*>(header_raw);
  job->size = h[0];
  job->denominator = h[1];
  const int64_t offset = h[2];
  if (offset < 0 || size_t(offset) + size_t(count) * job->size * job->size * 3 > out_len ||
      (job->denominator != 1 && job->denominator != 2 && job->denominator != 4 && job->denominator != 8)) {
    delete job;
    napi_throw_range_error(env, nullptr, "loadJpegClip: the output is too small, or the denominator is not 1, 2, 4 or 8");
    return nullptr;
  }
  std::memcpy(job->params, params_raw, sizeof(job->params));
  job->out = static_cast<float*>(out_raw) + offset;
  napi_create_reference(env, argv[3], 1, &job->out_ref);  // keeps the output alive while the job runs
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "egtea.loadJpegClip", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}
