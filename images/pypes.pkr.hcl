# The Pypes machine image: a base Linux image with Pypes installed in /opt/pypes,
# `pypes` on PATH, and the pypes-worker systemd unit that cloud-init user-data starts.
# Build (see images/README.md):
#   pip wheel --no-deps -w dist .
#   packer init images/pypes.pkr.hcl
#   packer build -var region=eu-west-1 -var pypes_wheel=dist/pypes-0.1.0-py3-none-any.whl images/pypes.pkr.hcl
# Eucalyptus / OpenStack: add -var endpoint=https://ec2.cloud.example:8773/ -var source_ami=emi-...

packer {
  required_plugins {
    amazon = {
      version = ">= 1.2.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}

variable "endpoint" {
  type        = string
  default     = ""
  description = "EC2 API endpoint; empty for AWS (Eucalyptus: https://ec2.<cloud>:8773/)"
}

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "region to build in (Eucalyptus: its region name, e.g. eucalyptus)"
}

variable "source_ami" {
  type        = string
  default     = ""
  description = "base image id; empty: the newest Debian 12 amd64 image on AWS"
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "ssh_username" {
  type        = string
  default     = "admin"
  description = "login user of the base image (admin on Debian, ubuntu on Ubuntu, ec2-user on Amazon Linux)"
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "subnet for the build instance (needs outbound access to PyPI)"
}

variable "pypes_wheel" {
  type        = string
  default     = "dist/pypes-0.1.0-py3-none-any.whl"
  description = "the Pypes wheel to install (pip wheel --no-deps -w dist .)"
}

variable "image_name" {
  type    = string
  default = "pypes-worker"
}

locals {
  stamp = formatdate("YYYYMMDD-hhmm", timestamp())
}

source "amazon-ebs" "pypes" {
  region                 = var.region
  custom_endpoint_ec2    = var.endpoint
  skip_region_validation = var.endpoint != ""
  instance_type          = var.instance_type
  ssh_username           = var.ssh_username
  subnet_id              = var.subnet_id
  ami_name               = "${var.image_name}-${local.stamp}"
  ami_description        = "Pypes worker image: pypes on PATH, pypes-worker.service started by cloud-init user-data"

  source_ami = var.source_ami
  dynamic "source_ami_filter" {
    for_each = var.source_ami == "" ? [1] : []
    content {
      filters = {
        name                = "debian-12-amd64-*"
        architecture        = "x86_64"
        virtualization-type = "hvm"
        root-device-type    = "ebs"
      }
      owners      = ["136693071363"] # Debian
      most_recent = true
    }
  }

  # AWS: IMDSv2 only (the boot script asks for a session token first). Eucalyptus and
  # OpenStack serve IMDSv1 and may refuse MetadataOptions, so it is left out there.
  dynamic "metadata_options" {
    for_each = var.endpoint == "" ? [1] : []
    content {
      http_endpoint = "enabled"
      http_tokens   = "required"
    }
  }

  tags = {
    Name         = "${var.image_name}-${local.stamp}"
    "pypes:role" = "worker-image"
  }
}

build {
  sources = ["source.amazon-ebs.pypes"]

  provisioner "file" {
    source      = var.pypes_wheel
    destination = "/tmp/${basename(var.pypes_wheel)}"
  }

  provisioner "file" {
    source      = "${path.root}/pypes-worker.service"
    destination = "/tmp/pypes-worker.service"
  }

  provisioner "shell" {
    environment_vars = ["WHEEL=/tmp/${basename(var.pypes_wheel)}", "DEBIAN_FRONTEND=noninteractive"]
    execute_command  = "sudo -E sh -eux '{{ .Path }}'"
    inline = [
      "cloud-init status --wait || true",
      "if command -v apt-get >/dev/null; then apt-get update -q && apt-get install -y -q python3 python3-venv curl cloud-init; else dnf install -y python3 curl cloud-init; fi",
      "python3 -m venv /opt/pypes",
      "/opt/pypes/bin/pip install -q --upgrade pip",
      "/opt/pypes/bin/pip install -q \"$WHEEL\"",
      "ln -sf /opt/pypes/bin/pypes /usr/local/bin/pypes",
      "/usr/local/bin/pypes components >/dev/null",
      "id pypes >/dev/null 2>&1 || useradd --system --home-dir /var/lib/pypes --shell /usr/sbin/nologin pypes",
      "install -d -o pypes -g pypes -m 0750 /var/lib/pypes",
      "install -d -m 0700 /etc/pypes",
      "install -m 0644 /tmp/pypes-worker.service /etc/systemd/system/pypes-worker.service",
      "systemctl daemon-reload",
      "rm -f \"$WHEEL\" /tmp/pypes-worker.service",
      # a clean first boot for every instance made from this image
      "cloud-init clean --logs --seed",
      "rm -f /etc/pypes/worker.env /root/.bash_history /home/*/.bash_history",
    ]
  }
}
