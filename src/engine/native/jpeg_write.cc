// Writes images as JPEG files in one job on libuv's thread pool. Building an image dataset
// (thousands of 28 x 28 images) through sharp cost about 0.8 ms of CPU per image, nearly all of
// it per-call set-up; libjpeg-turbo encodes such an image in tens of microseconds. Each file is
// written whole or not at all (a temporary, then a rename), as the dataset writer's JavaScript
// path does, and a file already there (non-empty) is kept.
#include <node_api.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "jpeg_error.h"
#include "kernels.h"

namespace {

// RGB (grey is repeated into all three channels, as the loader reads RGB) at `quality`, no
// chroma subsampling, into `out`.
bool encode(const uint8_t* pixels, int width, int height, int channels, int quality, std::vector<uint8_t>* out, std::string* why) {
  jpeg_compress_struct info;
  JpegError error;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = on_jpeg_error;
  if (setjmp(error.jump)) {
    *why = error.message;
    jpeg_destroy_compress(&info);
    std::free(buffer);
    return false;
  }
  jpeg_create_compress(&info);
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = JDIMENSION(width);
  info.image_height = JDIMENSION(height);
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  for (int c = 0; c < info.num_components; ++c) {
    info.comp_info[c].h_samp_factor = 1;
    info.comp_info[c].v_samp_factor = 1;
  }
  info.optimize_coding = TRUE;  // smaller files; the decoded pixels are the same
  jpeg_start_compress(&info, TRUE);
  std::vector<uint8_t> row(size_t(width) * 3);
  while (info.next_scanline < info.image_height) {
    const uint8_t* source = pixels + size_t(info.next_scanline) * width * channels;
    if (channels == 1) {
      for (int x = 0; x < width; ++x) row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = source[x];
    } else {
      std::memcpy(row.data(), source, row.size());
    }
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&info, rows, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  out->assign(buffer, buffer + size);
  std::free(buffer);
  return true;
}

// What went wrong, as Node's own file-system errors say it (code, syscall, path), so the CLI
// names the file and what to do.
struct Failure {
  std::string message;
  std::string path;
  const char* syscall = nullptr;
  int number = 0;  // errno; 0 for an encoder error

  void set(int error, const char* call, const std::string& where) {
    number = error;
    syscall = call;
    path = where;
    message = where + ": " + std::strerror(error);
  }
};

std::string parent_of(const std::string& file) {
  const size_t slash = file.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : file.substr(0, slash);
}

// mkdir -p
bool make_folders(const std::string& dir) {
  struct stat s;
  if (::stat(dir.c_str(), &s) == 0) {
    if (S_ISDIR(s.st_mode)) return true;
    errno = ENOTDIR;  // a file stands where the folder goes
    return false;
  }
  const std::string parent = parent_of(dir);
  if (parent != dir && !make_folders(parent)) return false;
  return ::mkdir(dir.c_str(), 0777) == 0 || errno == EEXIST;
}

// Temporaries of `file` that a killed writer left (any host and pid).
void remove_left_temporaries(const std::string& file) {
  const std::string dir = parent_of(file);
  const std::string prefix = file.substr(file.find_last_of('/') + 1) + ".tmp-";
  DIR* listing = ::opendir(dir.c_str());
  if (!listing) return;
  std::vector<std::string> left;
  while (dirent* entry = ::readdir(listing)) {
    if (std::strncmp(entry->d_name, prefix.c_str(), prefix.size()) == 0) left.push_back(dir + "/" + entry->d_name);
  }
  ::closedir(listing);
  for (const std::string& name : left) ::unlink(name.c_str());
}

bool write_whole(const std::string& file, const std::string& temporary, const std::vector<uint8_t>& bytes, Failure* failure) {
  int error = 0;  // the errno of the first step that failed, and that step
  const char* call = "open";
  auto fail = [&](const char* step) {
    if (error != 0) return;
    error = errno != 0 ? errno : EIO;
    call = step;
  };
  errno = 0;
  FILE* handle = std::fopen(temporary.c_str(), "wb");
  if (!handle) fail("open");
  if (handle && std::fwrite(bytes.data(), 1, bytes.size(), handle) != bytes.size()) fail("write");
  // A full disk often shows only here, when the buffered bytes are flushed.
  if (handle && std::fclose(handle) != 0) fail("write");
  if (error == 0 && std::rename(temporary.c_str(), file.c_str()) != 0) fail("rename");
  if (error != 0) {
    failure->set(error, call, file);
    ::unlink(temporary.c_str());
  }
  return error == 0;
}

struct Image {
  std::string file;
  const uint8_t* pixels;
  int width, height, channels;
};

struct WriteJob {
  std::vector<Image> images;
  int quality;
  std::string temporary_suffix;
  std::vector<uint8_t> written;  // per image: 1 written, 0 already there
  Failure failure;
  napi_ref pixels_ref;
  napi_deferred deferred;
  napi_async_work work;
};

void execute(napi_env, void* data) {
  auto* job = static_cast<WriteJob*>(data);
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < job->images.size(); ++i) {
    const Image& image = job->images[i];
    const std::string dir = parent_of(image.file);
    // A folder this mkdir makes is empty: no frame to keep, no temporary to clear. That is most
    // folders of a new dataset (one frame each), and it spares 8 of the 14 system calls an image cost.
    if (::mkdir(dir.c_str(), 0777) != 0) {
      if (!make_folders(dir)) {
        job->failure.set(errno, "mkdir", dir);
        return;
      }
      struct stat s;
      if (::stat(image.file.c_str(), &s) == 0 && s.st_size > 0) continue;
      remove_left_temporaries(image.file);
    }
    std::string why;
    if (!encode(image.pixels, image.width, image.height, image.channels, job->quality, &bytes, &why)) {
      job->failure.message = image.file + ": " + why;
      return;
    }
    if (!write_whole(image.file, image.file + job->temporary_suffix, bytes, &job->failure)) return;
    job->written[i] = 1;
  }
}

void complete(napi_env env, napi_status, void* data) {
  auto* job = static_cast<WriteJob*>(data);
  const Failure& failure = job->failure;
  if (failure.message.empty()) {
    void* bytes = nullptr;
    napi_value buffer, result;
    napi_create_arraybuffer(env, job->written.size(), &bytes, &buffer);
    if (!job->written.empty()) std::memcpy(bytes, job->written.data(), job->written.size());
    napi_create_typedarray(env, napi_uint8_array, job->written.size(), buffer, 0, &result);
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message, error, value;
    napi_create_string_utf8(env, failure.message.c_str(), failure.message.size(), &message);
    napi_create_error(env, nullptr, message, &error);
    const char* code = failure.number ? strerrorname_np(failure.number) : nullptr;
    if (code) {
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &value);
      napi_set_named_property(env, error, "code", value);
      napi_create_int32(env, -failure.number, &value);
      napi_set_named_property(env, error, "errno", value);
      napi_create_string_utf8(env, failure.syscall, NAPI_AUTO_LENGTH, &value);
      napi_set_named_property(env, error, "syscall", value);
      napi_create_string_utf8(env, failure.path.c_str(), failure.path.size(), &value);
      napi_set_named_property(env, error, "path", value);
    }
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_reference(env, job->pixels_ref);
  napi_delete_async_work(env, job->work);
  delete job;
}

}  // namespace

// writeJpegFrames(files: string[], pixels: Uint8Array[], header: Int32Array[quality, (width, height, channels) x n],
//                 temporarySuffix: string): Promise<Uint8Array>
// Image i (channels 1 or 3, row by row) goes to files[i], its folders made as needed; the
// promise gives 1 per image written and 0 per file already there. The first failure rejects
// with "<file>: <reason>" (with code, syscall and path, as Node's file-system errors have them)
// and leaves the images after it unwritten.
napi_value WriteJpegFrames(napi_env env, napi_callback_info info) {
  constexpr const char* usage =
      "writeJpegFrames(files: string[], pixels: Uint8Array[], header: Int32Array[quality, (width, height, channels) x n], temporarySuffix: string)";
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  bool files_array = false, pixels_array = false;
  if (argc == 4) {
    napi_is_array(env, argv[0], &files_array);
    napi_is_array(env, argv[1], &pixels_array);
  }
  void* header_raw = nullptr;
  size_t header_len = 0;
  uint32_t count = 0, pixel_count = 0;
  bool shaped = files_array && pixels_array && typed_array(env, argv[2], napi_int32_array, &header_raw, &header_len);
  if (shaped) {
    napi_get_array_length(env, argv[0], &count);
    napi_get_array_length(env, argv[1], &pixel_count);
    shaped = pixel_count == count && header_len == 1 + 3 * size_t(count);
  }
  std::string suffix;
  if (shaped) shaped = string_value(env, argv[3], &suffix) && !suffix.empty();
  if (!shaped) {
    napi_throw_type_error(env, nullptr, usage);
    return nullptr;
  }
  const int32_t* h = static_cast<int32_t*>(header_raw);
  auto* job = new WriteJob();
  job->quality = h[0];
  job->temporary_suffix = suffix;
  job->images.resize(count);
  job->written.assign(count, 0);
  auto refuse = [&](const char* message) {
    delete job;
    napi_throw_range_error(env, nullptr, message);
    return nullptr;
  };
  if (job->quality < 1 || job->quality > 100) return refuse("writeJpegFrames: quality must be 1-100");
  for (uint32_t i = 0; i < count; ++i) {
    Image& image = job->images[i];
    image.width = h[1 + 3 * i];
    image.height = h[2 + 3 * i];
    image.channels = h[3 + 3 * i];
    napi_value element;
    napi_get_element(env, argv[1], i, &element);
    void* pixels = nullptr;
    size_t length = 0;
    if (!typed_array(env, element, napi_uint8_array, &pixels, &length) || image.width < 1 || image.height < 1 ||
        (image.channels != 1 && image.channels != 3) || length != size_t(image.width) * image.height * image.channels) {
      return refuse("writeJpegFrames: each image must be a Uint8Array of width x height x channels (1 or 3)");
    }
    image.pixels = static_cast<const uint8_t*>(pixels);
    napi_get_element(env, argv[0], i, &element);
    if (!string_value(env, element, &image.file) || image.file.empty()) return refuse("writeJpegFrames: each file must be a non-empty string");
  }
  napi_create_reference(env, argv[1], 1, &job->pixels_ref);
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "egtea.writeJpegFrames", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, nullptr, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}
