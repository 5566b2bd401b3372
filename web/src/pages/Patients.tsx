import { PageTitle, NotAvailable } from '../components/common';

export default function Patients() {
  return (
    <div>
      <PageTitle>Patients</PageTitle>
      <NotAvailable what="Patients" />
    </div>
  );
}
